"""`yume-gym doctor`: passes on complete small checkpoint directories, names every problem."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from release_layout import DIT, DIT_FILE, T5, T5_FILE, VAE, VAE_FILE
from yume_gym.commands.doctor import check_directory, check_generator, main
from yume_gym.model.safe_load import load_pth, save_pth

SIZE = (64, 64)


def _problems(directory):
    reports, fit = check_directory(directory, SIZE, vae_config=VAE, text_config=T5)
    return {r.name: r.problems for r in reports}, fit, reports


def test_complete_native_directory_passes(release_native_dir):
    problems, fit, reports = _problems(release_native_dir)
    assert problems == {"generator": [], "VAE": [], "text encoder": [], "tokenizer": []} and fit == []
    assert all(r.weights > 0 and r.activations > 0 for r in reports if r.name != "tokenizer")
    assert reports[1].dtypes == ["float32"] and "native" in reports[1].source
    assert reports[0].notes[0].startswith("config differs from the yume-5b preset: in_dim=4, dim=32")


def test_complete_diffusers_directory_passes_from_the_command_line(release_diffusers_dir, capsys):
    assert main([str(release_diffusers_dir), "--resolution", "64x64"]) == 0
    out = capsys.readouterr().out
    assert "VAE           ok       vae/diffusion_pytorch_model.safetensors (diffusers)" in out
    assert "text encoder  ok       text_encoder/model.safetensors (hf)" in out
    assert "PROBLEM" not in out and "GPU memory, all resident" in out


def test_real_size_expectations_reject_small_files(release_native_dir, capsys):
    assert main([str(release_native_dir), "--resolution", "64x64"]) == 1
    out = capsys.readouterr().out
    assert "shape: conv1.weight: file [8, 8, 1, 1, 1] vs model [96, 96, 1, 1, 1]" in out
    assert "... and" in out  # long lists are cut


def test_missing_file(broken):
    (broken / VAE_FILE).unlink()
    problems, _, _ = _problems(broken)
    assert problems["VAE"] == [f"missing: no VAE at {str(broken)!r}: expected {VAE_FILE} or a vae/ "
                               f"folder with config.json and diffusion_pytorch_model.safetensors"]
    assert problems["generator"] == [] and problems["text encoder"] == []
    assert main([str(broken), "--resolution", "64x64"]) == 1


def test_renamed_key(broken):
    state = load_pth(broken / T5_FILE)
    state["blocks.0.attn.query.weight"] = state.pop("blocks.0.attn.q.weight")
    save_pth(state, broken / T5_FILE)
    problems, _, _ = _problems(broken)
    assert problems["text encoder"] == ["missing: blocks.0.attn.q.weight [32, 32]",
                                        "unexpected: blocks.0.attn.query.weight [32, 32]"]


def test_wrong_shape(broken):
    state = load_file(str(broken / DIT_FILE))
    state["head.head.weight"] = torch.zeros(8, 32)
    save_file(state, str(broken / DIT_FILE))
    problems, _, _ = _problems(broken)
    assert problems["generator"] == ["shape: head.head.weight: file [8, 32] vs model [16, 32]"]


def test_truncated_file(broken):
    data = (broken / DIT_FILE).read_bytes()
    (broken / DIT_FILE).write_bytes(data[: len(data) // 2])
    problems, _, _ = _problems(broken)
    assert len(problems["generator"]) == 1
    assert problems["generator"][0].startswith("unreadable: ") and "truncated" in problems["generator"][0]


def test_pickle_that_runs_code(broken):
    class RunsCode:
        def __reduce__(self):
            return (print, ("ran",))

    torch.save({"payload": RunsCode()}, broken / VAE_FILE)
    problems, _, _ = _problems(broken)
    assert "refusing to load" in problems["VAE"][0] and "calls 'print'" in problems["VAE"][0]


def test_components_that_do_not_fit(broken):
    (broken / "config.json").write_text(json.dumps({**DIT, "in_dim": 8, "text_dim": 16}))
    _, fit, _ = _problems(broken)
    assert fit == ["the generator's in_dim/out_dim (8/4) differ from the VAE's latent channels (4)",
                   "the generator's text_dim (16) differs from the text encoder's width (32)"]


def test_bad_arguments(tmp_path, capsys):
    assert main([str(tmp_path / "absent")]) == 1
    assert "no checkpoint directory" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--resolution", "700x1280"])


@pytest.mark.parametrize("absurd", [{"dim": 999_999_936, "num_heads": 24}, {"num_layers": 10_000}])
def test_absurd_config_is_reported_at_once_without_a_traceback(broken, capsys, absurd):
    import time

    (broken / "config.json").write_text(json.dumps({**DIT, **absurd}))
    field = next(iter(absurd))
    started = time.perf_counter()
    report = check_generator(broken, SIZE)
    assert time.perf_counter() - started < 1.0
    assert len(report.problems) == 1 and f"{field}={absurd[field]} is above the limit" in report.problems[0]
    assert main([str(broken), "--resolution", "64x64"]) == 1  # the command prints it, no traceback
    out = capsys.readouterr().out
    assert f"{field}={absurd[field]} is above the limit" in out and "Traceback" not in out


def test_absurd_vae_and_text_encoder_configs_are_problems_not_work(release_diffusers_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(release_diffusers_dir, copy)
    for folder, field in (("vae", "base_dim"), ("text_encoder", "num_layers")):
        config = json.loads((copy / folder / "config.json").read_text())
        (copy / folder / "config.json").write_text(json.dumps({**config, field: 10_000}))
    reports, _ = check_directory(copy, SIZE, vae_config=VAE, text_config=T5)
    problems = {r.name: r.problems for r in reports}
    assert any("base_dim=10000 is above the limit 640" in line for line in problems["VAE"])
    assert any("num_layers=10000 is above the limit 96" in line for line in problems["text encoder"])

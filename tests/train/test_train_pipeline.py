"""The whole training recipe at toy size: data, codec, foundation, distillation, classifier, eval.

Each stage runs through its command-line entry point for a few steps, as a user would run it,
and its outputs are checked: files, resumption, and that the exported bundles load strictly.
"""

import csv
import json
import os

import numpy as np
import pytest
import torch
from procworld.dataset import DataConfig, write_dataset

from yume_gym.commands.cli import main as cli
from yume_gym.sampling import FlowSchedule
from yume_gym.train.distill import DistillArgs, rollout
from yume_gym.train.latents import load_latents
from yume_gym.world.bundle import read_world_model

THREADS = ["--threads", "1", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    write_dataset(root / "data", DataConfig(clips=6, frames=9, size=32, shard_clips=3, align=4), progress=False)
    assert cli(["train", "codec", "--data", str(root / "data"), "--out", str(root / "codec"), "--steps", "2",
                "--batch", "4", "--max-clips", "6", "--latent-channels", "8", "--edge-weight", "1", *THREADS]) == 0
    assert cli(["train", "foundation", "--data", str(root / "data"), "--codec", str(root / "codec/codec.safetensors"),
                "--out", str(root / "foundation"), "--steps", "2", "--batch", "2", *THREADS]) == 0
    return root


def test_codec_stage_writes_weights_and_eval_codec_measures_held_out_clips(runs):
    assert not (runs / "codec/codec_eval.json").exists()  # training does not evaluate
    assert cli(["eval", "codec", "--codec", str(runs / "codec/codec.safetensors"), "--data", str(runs / "data"),
                "--max-clips", "6", "--threads", "1"]) == 0
    report = json.loads((runs / "codec/codec_eval.json").read_text())
    assert report["held_out_frames"] == 9 and report["psnr_db"] > 0  # 1 of 6 clips of 9 frames
    assert set(report["hue_kept"]) == {"red", "yellow", "purple"}
    assert (runs / "codec/codec.safetensors").is_file()


def test_foundation_bundle_loads_strictly_with_a_word_vocabulary(runs):
    model = read_world_model(runs / "foundation/bundle")
    assert model.is_trained
    assert model.text_encoder.config.vocab[:3] == ["<pad>", "</s>", "<unk>"]
    assert model.generation.chunk_latents == 4 and model.chunk_frames == 4
    assert model.generator.config.in_dim == model.generator.config.out_dim == 8  # the codec's latent channels
    assert model.generator.config.text_len == model.text_encoder.config.text_len == 128


def test_foundation_resumes_from_its_checkpoint(runs):
    assert cli(["train", "foundation", "--data", str(runs / "data"), "--codec", str(runs / "codec/codec.safetensors"),
                "--out", str(runs / "foundation"), "--steps", "3", "--batch", "2", *THREADS]) == 0
    rows = (runs / "foundation/log.csv").read_text().splitlines()
    assert rows[0].startswith("step,loss") and [r.split(",")[0] for r in rows[1:]] == ["2", "3"]


def test_foundation_starts_from_a_bundle(runs, tmp_path):
    bundle, codec = runs / "foundation/bundle", str(runs / "foundation/bundle/codec.safetensors")
    common = ["train", "foundation", "--data", str(runs / "data"), "--init", str(bundle), "--steps", "1",
              "--batch", "2", *THREADS]  # fmt: skip
    assert cli([*common, "--codec", codec, "--out", str(tmp_path / "warm")]) == 0
    warm, start = read_world_model(tmp_path / "warm/bundle"), read_world_model(bundle)
    assert warm.text_encoder.config.vocab == start.text_encoder.config.vocab
    assert "from " + str(bundle) in json.loads((tmp_path / "warm/bundle/world_model.json").read_text())["note"]
    with pytest.raises(ValueError, match="chunks of 4 latents, not --chunk-latents 2"):
        cli([*common, "--codec", codec, "--chunk-latents", "2", "--out", str(tmp_path / "short"), "--debug"])
    other = tmp_path / "other-codec"
    assert cli(["train", "codec", "--data", str(runs / "data"), "--out", str(other), "--steps", "1", "--batch", "4",
                "--max-clips", "6", "--seed", "5", *THREADS]) == 0
    with pytest.raises(ValueError, match="another codec than --codec"):
        cli([*common, "--codec", str(other / "codec.safetensors"), "--out", str(tmp_path / "mismatch"), "--debug"])


def test_residual_foundation_ships_its_scale_and_keeps_it(runs, tmp_path):
    out = tmp_path / "residual"
    common = ["train", "foundation", "--data", str(runs / "data"), "--codec", str(runs / "codec/codec.safetensors"),
              "--batch", "2", *THREADS]  # fmt: skip
    assert cli([*common, "--out", str(out), "--steps", "1", "--residual"]) == 0
    scale = read_world_model(out / "bundle").generation.residual_scale
    assert scale is not None and 0.0 < scale < 10.0
    with pytest.raises(ValueError, match="trained with --residual"):
        cli([*common, "--out", str(out), "--steps", "2", "--debug"])
    assert cli([*common, "--out", str(out), "--steps", "2", "--residual"]) == 0  # resumed: the same scale
    assert read_world_model(out / "bundle").generation.residual_scale == scale
    with pytest.raises(ValueError, match="add --residual"):
        cli([*common, "--init", str(out / "bundle"), "--out", str(tmp_path / "absolute"), "--steps", "1", "--debug"])
    assert cli([*common, "--init", str(out / "bundle"), "--out", str(tmp_path / "warm"), "--steps", "1",
                "--residual"]) == 0  # fmt: skip
    assert read_world_model(tmp_path / "warm/bundle").generation.residual_scale == scale
    assert cli(["train", "distill", "--foundation", str(out), "--out", str(tmp_path / "distill"), "--steps", "1",
                "--batch", "2", "--max-chunks", "2", *THREADS]) == 0  # fmt: skip
    assert read_world_model(tmp_path / "distill/bundle").generation.residual_scale == scale


def test_distillation_exports_a_four_step_student(runs):
    assert cli(["train", "distill", "--foundation", str(runs / "foundation"), "--out", str(runs / "distill"),
                "--steps", "2", "--batch", "2", "--max-chunks", "2", *THREADS]) == 0
    student = read_world_model(runs / "distill/bundle")
    assert (student.generation.steps, student.generation.shift) == (4, 1.0)
    teacher = read_world_model(runs / "foundation/bundle")
    changed = [n for n, p in student.generator.state_dict().items()
               if not p.equal(teacher.generator.state_dict()[n])]
    assert changed, "two DMD steps left every student weight unchanged"


def test_rollout_truth_is_the_clips_chunk_the_student_generated(runs):
    model = read_world_model(runs / "foundation/bundle")
    clips = load_latents(runs / "foundation/latents.safetensors")
    n, t = clips.latents.shape[:2]
    ids = 100.0 * torch.arange(n)[:, None] + torch.arange(t)[None, :]  # (N, T): clip * 100 + frame
    clips.latents = ids[:, :, None, None, None].expand_as(clips.latents).half()  # every latent names itself
    args = DistillArgs(batch=3, max_chunks=2, text_start_share=0.0)
    f = model.generation.chunk_latents
    for seed in range(4):
        r = rollout(model.generator, model, clips, np.random.default_rng(seed), args, FlowSchedule(2, 1.0),
                    torch.device("cpu"))
        clip_ids = r.history[:, 0, 0, 0, 0] / 100  # the opening chunk is frame 0 of each row's clip
        frames = r.truth[:, 0, :, 0, 0] - 100 * clip_ids[:, None]  # (B, F) frame numbers of the truth
        expected = (r.chunks - 1) * f + 1 + torch.arange(f, dtype=torch.float32)
        torch.testing.assert_close(frames, expected.expand_as(frames))
        assert r.history.shape[2] == r.chunks * f and r.truth.shape == r.x0.shape


def test_distillation_with_the_truth_term_logs_it(runs, tmp_path):
    with pytest.raises(SystemExit):
        cli(["train", "distill", "--foundation", str(runs / "foundation"), "--truth-weight", "-1", *THREADS])
    assert cli(["train", "distill", "--foundation", str(runs / "foundation"), "--out", str(tmp_path / "distill"),
                "--steps", "2", "--batch", "2", "--max-chunks", "2", "--text-start-share", "0",
                "--truth-weight", "1", *THREADS]) == 0  # fmt: skip
    rows = list(csv.DictReader((tmp_path / "distill/log.csv").open()))
    assert rows and all(float(row["truth_loss"]) > 0 for row in rows)


def test_inverse_dynamics_and_eval_write_a_report(runs):
    assert cli(["train", "idm", "--data", str(runs / "data"), "--out", str(runs / "idm"), "--steps", "2",
                "--batch", "4", "--max-clips", "6", *THREADS]) == 0
    accuracy = json.loads((runs / "idm/idm_eval.json").read_text())
    assert 0.0 <= accuracy["action"] <= 1.0
    out = runs / "docs/results.md"
    assert cli(["eval", "--model", str(runs / "foundation/bundle"), "--idm", str(runs / "idm/idm.safetensors"),
                "--episodes", "2", "--chunks", "2", "--event-trials", "1", "--latency-chunks", "2",
                "--teacher", str(runs / "foundation/bundle"), "--teacher-steps", "2", "--out", str(out),
                "--threads", "1"]) == 0
    text = out.read_text()
    for section in ("## Fidelity and action following", "## Action following from the true history",
                    "## Event following", "## Speed", "copy the start frame", "ground truth through the codec"):
        assert section in text
    assert (runs / "docs/results/fidelity_and_speed.png").stat().st_size > 1000
    assert (runs / "docs/results/sample.gif").is_file()


def test_missing_dataset_is_a_clear_error(tmp_path, capsys):
    assert cli(["train", "codec", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "codec"), *THREADS]) == 2
    assert "yume-gym data procworld" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="yume-gym data procworld"):  # a folder without dataset.json
        cli(["train", "codec", "--data", str(tmp_path), "--out", str(tmp_path / "codec"), *THREADS, "--debug"])


class _RunsCode:
    """Pickles as a call to os.mkdir: unpickling it unrestricted would create a folder."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.mark.parametrize("planted_as", ["checkpoint.pt", "checkpoint.safetensors"])
def test_a_planted_pickle_checkpoint_never_runs(runs, tmp_path, capsys, planted_as):
    commands = {
        "codec": ["--data", str(runs / "data"), "--max-clips", "6", "--batch", "4"],
        "foundation": ["--data", str(runs / "data"), "--codec", str(runs / "codec/codec.safetensors"), "--batch", "2"],
        "distill": ["--foundation", str(runs / "foundation"), "--batch", "2", "--max-chunks", "2"],
        "idm": ["--data", str(runs / "data"), "--max-clips", "6", "--batch", "4"],
    }
    for stage, argv in commands.items():
        out, marker = tmp_path / stage, tmp_path / f"ran-{stage}"
        out.mkdir()
        torch.save({"step": 1, "payload": _RunsCode(str(marker))}, out / planted_as)
        assert cli(["train", stage, *argv, "--out", str(out), "--steps", "1", *THREADS]) == 2
        error = capsys.readouterr().err
        assert not marker.exists(), f"train {stage} ran the pickle in {planted_as}"
        assert error.count("\n") == 1 and f"yume-gym train {stage}: error:" in error
        assert ("stored as a pickle" if planted_as == "checkpoint.pt" else "damaged or not a yume-gym") in error

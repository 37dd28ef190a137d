"""`yume-gym` on bad input: one line on stderr and exit status 2, tracebacks only with --debug,
bad option values refused before any work, and no temporary folders left by failed runs."""

import pytest
import torch

from yume_gym.commands import cli
from yume_gym.commands.cli import main


def test_an_expected_error_is_one_line_with_status_2_and_debug_shows_it(tmp_path, capsys):
    argv = ["train", "codec", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("yume-gym train codec: error: ") and err.count("\n") == 1 and "yume-gym data procworld" in err
    with pytest.raises(FileNotFoundError):
        main([argv[0], "--debug", *argv[1:]])  # --debug anywhere on the command line


@pytest.mark.parametrize("raised, shown", [(KeyboardInterrupt(), "interrupted"), (ValueError("bad --x 3"), "bad --x 3"),
                                           (OSError(28, "No space left on device"), "No space left")])
def test_interrupts_and_bad_input_are_one_line(monkeypatch, capsys, raised, shown):
    def job(argv):
        raise raised

    monkeypatch.setattr(cli, "_resolve", lambda spec: job)
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yume-gym demo: error: ") and shown in err and err.count("\n") == 1


def test_a_real_bug_keeps_its_traceback(monkeypatch):
    def job(argv):
        raise AttributeError("'NoneType' object has no attribute 'shape'")

    monkeypatch.setattr(cli, "_resolve", lambda spec: job)
    with pytest.raises(AttributeError):
        main(["demo"])


@pytest.mark.parametrize("argv, message", [
    (["demo", "--event", ""], "blank"),
    (["demo", "--event", "   "], "blank"),
    (["demo", "--seed", "-1"], "--seed -1 must be >= 0"),
    (["demo", "--scale", "200"], "--scale in 1..16"),
    (["demo", "--steps", "0"], "--steps must be in 1..10000"),
    (["demo", "--out", "."], "must be a video file name ending in .mp4"),
    (["demo", "--out", "no-such-folder/demo.mp4"], "does not exist; create it"),
    (["demo", "--device", "warp9"], "is not a torch device"),
    (["bench", "env", "--sizes", "a"], "--sizes 'a' must be comma-separated integers"),
    (["bench", "episode", "--device", "cuda:7"], "cuda:7"),
    (["data", "procworld", "--clips", "2", "--out", "x", "--speed", "nan,2,2"], "must be three numbers"),
    (["train", "codec", "--lr", "nan"], "'nan' is not a finite number"),
    (["train", "codec", "--device", "quantum"], "is not a torch device"),
    (["serve", "--seed", "-1"], "--seed -1 must be >= 0"),
])
def test_bad_option_values_are_refused_before_any_work(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--device", "cuda"])
    assert "CUDA is not available on this machine; use --device cpu" in capsys.readouterr().err


def test_a_demo_that_fails_midway_leaves_no_segment_folder(tmp_path, monkeypatch, capsys):
    from yume_gym.commands import demo

    calls = []

    def failing_keys(keys):
        calls.append(keys)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return 0

    monkeypatch.setattr(demo, "action_from_keys", failing_keys)
    out = tmp_path / "demo.mp4"
    assert main(["demo", "--out", str(out), "--steps", "4", "--scale", "1"]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*.segments")) and out.is_file()  # what was made before the failure is kept


def test_eval_refuses_a_bad_out_and_leaves_no_media_folder(tmp_path, capsys):
    assert main(["eval", "--model", str(tmp_path / "none"), "--out", str(tmp_path / "report")]) == 2
    assert main(["eval", "--model", str(tmp_path / "none"), "--out", str(tmp_path / "report.md")]) == 2
    assert "no world-model bundle (--model)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []

"""Smoke tests of the demo and the env benchmark at toy size."""

import json

from yume_gym.commands.bench.env import main as bench_main
from yume_gym.commands.demo import main as demo_main


def test_demo_writes_a_video_and_its_sidecar(tmp_path, capsys):
    out = tmp_path / "demo.mp4"
    assert demo_main(["--out", str(out), "--steps", "3", "--event-step", "2", "--scale", "2"]) == 0
    assert out.stat().st_size > 0
    sidecar = json.loads(out.with_suffix(".json").read_text())
    demo = sidecar["demo"]
    assert demo["chunks"] == 3 and sidecar["frame_count"] == 4 * demo["frames_per_chunk"]  # + the opening chunk
    assert sidecar["height"] == 2 * 64 and isinstance(demo["is_trained"], bool)
    assert [s["event"] is not None for s in sidecar["steps"]] == [False, True, True]
    printed = capsys.readouterr().out
    assert "time per chunk" in printed and ("trained" in printed or "RANDOM" in printed)


def test_env_benchmark_writes_its_table(tmp_path):
    out = tmp_path / "env.md"
    assert bench_main(["--sizes", "1,2", "--steps", "1", "--warmup", "0", "--out", str(out)]) == 0
    table = out.read_text()
    assert "| 2 |" in table and "speedup" in table


def test_demo_image_start_needs_a_procworld_caption(capsys):
    import pytest

    with pytest.raises(SystemExit):
        demo_main(["--prompt", "a quiet village street", "--steps", "1"])
    assert "--start text" in capsys.readouterr().err


def test_demo_start_image_is_the_described_scene():
    from yume_gym.commands.demo import DEFAULT_PROMPT, start_image

    first = start_image(DEFAULT_PROMPT, 0, (64, 64))
    assert first.shape == (64, 64, 3) and first.dtype.name == "uint8"
    assert (first != start_image(DEFAULT_PROMPT.replace("clear", "night"), 0, (64, 64))).any()

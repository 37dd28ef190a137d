"""The procworld walk example records a scripted walk with two events to video."""

import json
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_walk_example_writes_a_video(tmp_path, monkeypatch):
    out = tmp_path / "walk.mp4"
    monkeypatch.setattr(sys, "argv", ["procworld_walk.py", "--out", str(out), "--size", "48", "--steps", "6"])
    try:
        runpy.run_path(str(ROOT / "examples" / "procworld_walk.py"), run_name="__main__")
    except SystemExit as done:
        assert done.code == 0
    assert out.stat().st_size > 1000
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert {s["event"] for s in sidecar["steps"]} >= {"a red pillar appears", "night falls"}

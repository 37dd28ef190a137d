"""`yume-gym bench step` smoke run: two settings, one step each, table written."""

from __future__ import annotations

from yume_gym.commands.cli import main as cli


def test_bench_step_writes_its_table(tmp_path):
    out = tmp_path / "step.md"
    assert cli(["bench", "step", "--steps", "1", "--warmup", "0", "--threads", "1", "--settings", "0,2",
                "--out", str(out)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ") and "ms" not in line]
    assert [row.split(" | ")[0] for row in rows] == ['| defaults (info["frames"], eager)',
                                                       '| return_frames=False, observation="latent" (no decoding)']
    assert rows[0].endswith("| 1.00x |") and "whole `env.step`" in out.read_text()

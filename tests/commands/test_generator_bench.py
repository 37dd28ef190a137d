"""`yume-gym bench generator` at toy size: the table, the plot and the history-token rows."""

import pytest

from yume_gym.commands.bench import generator as bench
from yume_gym.model import tscm


def test_writes_a_table_with_history_tokens_per_chunk(tmp_path):
    argv = ["--chunks", "3", "--chunk-latents", "2", "--grid", "4", "--repeats", "1",
            "--modes", "tscm,full-history", "--out", str(tmp_path)]  # fmt: skip
    assert bench.main(argv) == 0
    table = (tmp_path / "generator-grid4.md").read_text()
    assert (tmp_path / "generator-grid4.png").stat().st_size > 0
    assert "4x4 latent grid = 8 chunk tokens" in table and "tscm-no-branch" not in table
    for mode in ("tscm", "full"):
        counts = [tscm.history_token_count(n, (4, 4), (2, 2), mode) for n in (0, 2)]  # chunks 1 and 2
        row = next(line for line in table.splitlines() if line.startswith(f"| {mode}") and "history tokens" in line)
        assert row.split(" | ")[1:3] == [str(c) for c in counts]
    assert "--modes tscm,full-history" in table


def test_unknown_mode_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--modes", "tscm,fast", "--out", str(tmp_path)])
    assert "unknown --modes ['fast']" in capsys.readouterr().err

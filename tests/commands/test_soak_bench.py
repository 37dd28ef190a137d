"""`bench soak` at toy size: memory rows at the asked steps and a step-time median per block."""

import pytest

from yume_gym.commands.bench import soak

pytest.importorskip("psutil", reason='psutil is not installed: pip install "yume-gym[test]"')


def test_soak_writes_memory_and_step_time_tables(tmp_path):
    out = tmp_path / "soak.md"
    assert soak.main(["--steps", "4", "--reset-every", "2", "--memory-at", "0,2,4", "--block", "2",
                      "--out", str(out)]) == 0
    table = out.read_text()
    for row in ("| 0 |", "| 2 |", "| 4 |", "| 1-2 |", "| 3-4 |"):
        assert row in table
    assert "Last block / first block step time" in table


def test_soak_refuses_bad_options(capsys):
    with pytest.raises(SystemExit):
        soak.main(["--memory-at", "a,b"])
    assert "--memory-at must be comma-separated step counts" in capsys.readouterr().err

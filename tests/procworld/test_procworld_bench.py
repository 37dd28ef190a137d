"""The procworld benchmark runs end to end at toy size and writes its table."""

from procworld.bench import main


def test_benchmark_writes_its_table(tmp_path, capsys):
    out = tmp_path / "procworld.md"
    assert main(["--sizes", "16,24", "--steps", "2", "--scenes", "1", "--repeats", "1", "--out", str(out)]) == 0
    table = out.read_text()
    assert "| 16x16 |" in table and "| 24x24 |" in table and "frames/s" in table
    assert table in capsys.readouterr().out


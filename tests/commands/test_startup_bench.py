"""``yume-gym bench startup`` times the import and the help screens and writes its table."""

from yume_gym.commands.bench.startup import main


def test_startup_bench_writes_a_table(tmp_path, capsys):
    out = tmp_path / "startup.md"
    assert main(["--repeats", "1", "--out", str(out)]) == 0
    table = out.read_text()
    for label in ("`import yume_gym`", "`yume-gym --help`", "`yume-gym demo --help`"):
        assert f"| {label} | " in table
    assert "this tree" in capsys.readouterr().out

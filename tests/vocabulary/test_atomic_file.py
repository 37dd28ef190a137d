"""Atomic writes: a file is complete under its name or left as it was."""

import pytest

from yume_gym.atomic_file import atomic_path, write_text_atomic


def test_write_text_atomic_creates_parents_and_replaces(tmp_path):
    target = tmp_path / "deep" / "report.json"
    write_text_atomic(target, "first")
    write_text_atomic(target, "second, with ü")
    assert target.read_text(encoding="utf-8") == "second, with ü"
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temporary left


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "table.md"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="cut off"):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("half a tab")
            raise RuntimeError("cut off")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"]

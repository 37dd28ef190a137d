"""Commands run with missing inputs say in one line what is missing and how to make it (exit 2)."""

import pytest

from yume_gym.commands.cli import main

CASES = [
    (["export"], "world-model bundle (--model) at 'runs/foundation/bundle'", "train one"),
    (["train", "codec", "--steps", "1"], "procworld dataset (--data) at 'data/procworld'", "yume-gym data procworld"),
    (["train", "foundation", "--steps", "1"], "procworld dataset (--data)", "yume-gym data procworld"),
    (["train", "distill", "--steps", "1"], "foundation run (--foundation)", "yume-gym train foundation"),
    (["train", "idm", "--steps", "1"], "procworld dataset (--data)", "yume-gym data procworld"),
    (["eval", "--episodes", "1"], "action classifier (--idm) at 'runs/idm/idm.safetensors'", "yume-gym train idm"),
    (["eval", "codec"], "trained codec (--codec)", "yume-gym train codec"),
]


@pytest.mark.parametrize(("argv", "missing", "fix"), CASES, ids=[" ".join(c[0][:2]) for c in CASES])
def test_missing_input_is_one_line_and_exit_code_2(argv, missing, fix, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # a directory without the default runs/ and data/
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"no {missing}" in err and fix in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_foundation_with_a_dataset_still_names_the_missing_codec(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "procworld").mkdir(parents=True)
    assert main(["train", "foundation"]) == 2
    assert "no trained codec (--codec) at 'runs/codec/codec.safetensors'" in capsys.readouterr().err


def test_version_and_help_print_each_default_once(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("yume-gym 0.")
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default: the embedded model) --teacher" in help_text  # not followed by "(default: None)"
    assert "(default: runs/eval/results.md)" in help_text  # outputs go to a run directory, not docs/

"""Command-line options from dataclasses: types, flags, help texts, errors."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from yume_gym.options import REQUIRED, option, parse_args


@dataclass
class Example:
    clips: int = option(10, "clips loaded (the last 5% are held out)")
    rate: float | None = option(None, "a rate")
    name: str = option("run", "a name")
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self) -> None:
        if self.clips < 1:
            raise ValueError(f"clips={self.clips} must be >= 1")


def test_fields_become_typed_options():
    args = parse_args(Example, ["--clips", "3", "--rate", "0.5", "--no-progress"], "example", "an example")
    assert (args.clips, args.rate, args.name, args.progress) == (3, 0.5, "run", False)


def test_help_shows_percent_signs_and_defaults(capsys):
    with pytest.raises(SystemExit):
        parse_args(Example, ["--help"], "example", "an example")
    text = " ".join(capsys.readouterr().out.split())
    assert "clips loaded (the last 5% are held out) (default: 10)" in text


def test_invalid_values_exit_with_the_dataclass_message(capsys):
    with pytest.raises(SystemExit):
        parse_args(Example, ["--clips", "0"], "example", "an example")
    assert "clips=0 must be >= 1" in capsys.readouterr().err


def size(text: str) -> int:
    return len(text)


@dataclass
class Shapes:
    directory: Path = option(REQUIRED, "a folder", positional=True)
    clips: int = option(REQUIRED, "clips to make")
    mode: str = option("fast", "how to run", choices=("fast", "slow"))
    length: int = option(0, "a length", type=size)
    hold: tuple[int, int] = option((4, 8), "shortest and longest hold", nargs=2, metavar=("MIN", "MAX"))
    hosts: list[str] = option([], "another host (repeatable)", action="append")


def test_positional_required_choices_types_and_lists():
    args = parse_args(Shapes, ["here", "--clips", "2", "--mode", "slow", "--length", "abc", "--hold", "1", "2",
                               "--hosts", "a", "--hosts", "b"], "example", "an example")
    assert (args.directory, args.clips, args.mode, args.length) == (Path("here"), 2, "slow", 3)
    assert (list(args.hold), args.hosts) == ([1, 2], ["a", "b"])
    assert parse_args(Shapes, ["here", "--clips", "2"], "example", "an example").hosts == []


def test_required_options_and_choices_are_checked(capsys):
    with pytest.raises(SystemExit):
        parse_args(Shapes, ["here"], "example", "an example")
    assert "the following arguments are required: --clips" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(Shapes, ["here", "--clips", "1", "--mode", "other"], "example", "an example")
    assert "invalid choice: 'other'" in capsys.readouterr().err

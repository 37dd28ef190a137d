"""Command-line options from dataclasses: types, flags, help texts, errors."""

from dataclasses import dataclass

import pytest

from yume_gym.options import option, parse_args


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

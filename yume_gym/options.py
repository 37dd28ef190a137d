"""Command-line options from a dataclass: each field is an option, its ``help`` metadata the text."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, TypeVar, get_type_hints

ArgsT = TypeVar("ArgsT")


def option(default: Any, help: str) -> Any:
    """A dataclass field with a default and the ``--help`` text of its option."""
    return dataclasses.field(default=default, metadata={"help": help})


def parse_args(cls: type[ArgsT], argv: list[str] | None, prog: str, description: str) -> ArgsT:
    """Parse ``argv`` into ``cls``: ``--some-field value`` per field; bools are ``--flag/--no-flag``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    hints = get_type_hints(cls)
    for field in dataclasses.fields(cls):
        kind = hints[field.name]
        flag = "--" + field.name.replace("_", "-")
        help_text = f"{field.metadata.get('help', '')} (default: {field.default})".replace("%", "%%")  # argparse formats help
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default, help=help_text)
        else:
            convert = next((t for t in (int, float, str) if kind in (t, t | None)), str)
            parser.add_argument(flag, type=convert, default=field.default, help=help_text)
    values = vars(parser.parse_args(argv))
    try:
        return cls(**values)
    except ValueError as err:
        parser.error(str(err))
        raise  # parser.error exits; this line keeps type checkers informed

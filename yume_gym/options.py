"""Command-line options from a dataclass: each field is an option, its ``help`` metadata the text.

:func:`inputs_exist` checks a command's input paths before any work starts, and names the first
missing one with the command that makes it, in one line.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
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
        help_text = field.metadata.get("help", "")
        if "(default:" not in help_text:  # a help text may say the default in words
            help_text = f"{help_text} (default: {field.default})"
        help_text = help_text.replace("%", "%%")  # argparse formats help
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


def inputs_exist(command: str, inputs: Sequence[tuple[str | os.PathLike, str, str]]) -> bool:
    """True if every ``(path, what, how_to_make_it)`` exists; else print one line naming the first
    missing input and how to make it (to stderr) and return False: the command then exits with 2."""
    for path, what, how in inputs:
        if not Path(path).exists():
            print(f"{command}: no {what} at {str(path)!r}; {how}", file=sys.stderr)
            return False
    return True

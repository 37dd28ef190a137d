"""Command-line options from a dataclass: each field is an option, its ``help`` metadata the text.

:func:`require_inputs` checks a command's input paths before any work starts, and names the first
missing one with the command that makes it.
Also the argparse types every command shares: finite numbers and torch devices that exist here.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

import torch

ArgsT = TypeVar("ArgsT")


def option(default: Any, help: str) -> Any:
    """A dataclass field with a default and the ``--help`` text of its option."""
    return dataclasses.field(default=default, metadata={"help": help})


def finite_float(text: str) -> float:
    """An argparse type: a finite number (``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def torch_device(text: str) -> str:
    """An argparse type: a torch device name whose device this machine has (``cuda`` needs CUDA)."""
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a torch device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(f"{text!r}: CUDA is not available on this machine; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(
                f"{text!r}: this machine has {torch.cuda.device_count()} CUDA device(s); use cuda:0..")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: MPS is not available on this machine; use --device cpu")
    return text


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
            convert = {float: finite_float, str: torch_device if field.name == "device" else str}.get(convert, convert)
            parser.add_argument(flag, type=convert, default=field.default, help=help_text)
    values = vars(parser.parse_args(argv))
    try:
        return cls(**values)
    except ValueError as err:
        parser.error(str(err))
        raise  # parser.error exits; this line keeps type checkers informed


def require_inputs(inputs: Sequence[tuple[str | os.PathLike, str, str]]) -> None:
    """Check ``(path, what, how_to_make_it)`` inputs before any work: a FileNotFoundError names the
    first missing one and how to make it (the CLI prints it as one line and exits with 2)."""
    for path, what, how in inputs:
        if not Path(path).exists():
            raise FileNotFoundError(f"no {what} at {str(path)!r}; {how}")

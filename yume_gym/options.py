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
from typing import Any, TypeVar, get_args, get_origin, get_type_hints


ArgsT = TypeVar("ArgsT")
REQUIRED: Any = dataclasses.MISSING  # the default of an option that must be given


def option(default: Any, help: str, *, positional: bool = False, **argument: Any) -> Any:
    """A dataclass field with a default and the ``--help`` text of its option.

    ``argument`` goes to ``add_argument`` as it is (``type``, ``choices``, ``nargs``, ``metavar``,
    ``action``); a ``positional`` field has no flag; a list default is copied for each instance.
    """
    metadata = {"help": help, "positional": positional, "argument": argument}
    if isinstance(default, list):
        return dataclasses.field(default_factory=default.copy, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


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
    import torch  # here, so that --help and option parsing without a device stay light

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
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    hints = get_type_hints(cls)
    for field in dataclasses.fields(cls):
        argument = dict(field.metadata.get("argument", {}))
        help_text = field.metadata.get("help", "")
        if field.default_factory is not dataclasses.MISSING:
            argument["default"] = field.default_factory()
        elif field.default is not dataclasses.MISSING:
            argument["default"] = field.default
            if "(default:" not in help_text:  # a help text may say the default in words
                help_text = f"{help_text} (default: {field.default})"
        argument["help"] = help_text.replace("%", "%%")  # argparse formats help
        if hints[field.name] is bool:
            argument.setdefault("action", argparse.BooleanOptionalAction)
        elif "action" not in argument:
            argument.setdefault("type", _convert(field.name, hints[field.name]))
        if field.metadata.get("positional"):
            parser.add_argument(field.name, **argument)
        else:
            flag = "--" + field.name.replace("_", "-")
            parser.add_argument(flag, required="default" not in argument, **argument)
    values = vars(parser.parse_args(argv))
    try:
        return cls(**values)
    except ValueError as err:
        parser.error(str(err))
        raise  # parser.error exits; this line keeps type checkers informed


def _convert(name: str, kind: Any) -> Any:
    """The argparse type of a field annotated ``kind`` (of its items for a list or tuple)."""
    if type(None) in get_args(kind):  # an optional value
        kind = next(k for k in get_args(kind) if k is not type(None))
    if get_origin(kind) in (list, tuple):  # the items of an nargs or append option
        kind = get_args(kind)[0]
    if kind is float:
        return finite_float
    if kind is str and name == "device":
        return torch_device
    return kind if kind in (int, str, Path) else str


def require_inputs(inputs: Sequence[tuple[str | os.PathLike, str, str]]) -> None:
    """Check ``(path, what, how_to_make_it)`` inputs before any work: a FileNotFoundError names the
    first missing one and how to make it (the CLI prints it as one line and exits with 2)."""
    for path, what, how in inputs:
        if not Path(path).exists():
            raise FileNotFoundError(f"no {what} at {str(path)!r}; {how}")

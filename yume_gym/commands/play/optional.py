"""Import the optional libraries of the play front ends, with the install hint when one is missing."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

INSTALL_HINT = 'pip install "yume-gym[play]"'


def import_play_dependency(name: str) -> ModuleType:
    """Import ``name`` (pygame, aiohttp); an ImportError that says how to install it otherwise."""
    if name == "pygame":
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner on stdout
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise ImportError(
            f"{name} is not installed; `yume-gym play` and `yume-gym serve` need it: {INSTALL_HINT}"
        ) from err

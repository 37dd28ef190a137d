"""Resumable training state on disk: one ``.pt`` file per run, written atomically.

A checkpoint holds the step, the module and optimizer states, the random states and the run's
settings. It is written next to its destination and moved into place, so a run cut off while
saving keeps its previous checkpoint.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from yume_gym.atomic_file import atomic_path


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, dicts, numbers) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any] | None:
    """The state saved at ``path``; None when there is no file (a fresh run)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises several types for a damaged file
        raise ValueError(
            f"checkpoint {str(path)!r} is damaged ({type(err).__name__}: {err}); "
            "delete it to start over, or restore a copy"
        ) from err
    if not isinstance(state, dict) or "step" not in state:
        raise ValueError(f"{str(path)!r} is not a yume-gym training checkpoint (no 'step'); pass another --out")
    return state


def restore(saved: dict[str, Any] | None, **stateful: Any) -> int:
    """Load ``saved[name]`` into each ``name=object`` (modules, optimizers) and restore the random
    states; returns the checkpoint's step, or 0 when ``saved`` is None (a fresh run)."""
    if saved is None:
        return 0
    missing = sorted(set(stateful) - set(saved))
    if missing:
        raise ValueError(f"the checkpoint has no {missing}: it was written by another stage; pass another --out")
    for name, target in stateful.items():
        target.load_state_dict(saved[name])
    restore_random_states(saved["random"])
    return int(saved["step"])


def random_states() -> dict[str, Any]:
    """The Python, numpy and torch CPU random states, to store in a checkpoint."""
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def restore_random_states(states: dict[str, Any]) -> None:
    """Undo :func:`random_states`."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])

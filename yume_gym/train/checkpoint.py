"""Resumable training state on disk: one safetensors file per run, written atomically.

A checkpoint holds the step, the module and optimizer states, the random states and the run's
settings: the tensors as safetensors, everything else as JSON in its header (see
:mod:`yume_gym.train.state_codec`), so loading one never unpickles anything. It is written
next to its destination and moved into place, so a run cut off while saving keeps the last one.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from yume_gym.atomic_file import atomic_path
from yume_gym.train.state_codec import decode_state, encode_state

STATE_KEY = "yume_gym.training_state"


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, arrays, dicts, lists, numbers, strings) to ``path`` atomically."""
    path = Path(path)
    structure, tensors = encode_state(state)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={STATE_KEY: json.dumps(structure)})
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any] | None:
    """The state saved at ``path``; None when there is no file (a fresh run)."""
    path = Path(path)
    legacy = path.with_suffix(".pt")
    if not path.is_file() and legacy.is_file():
        raise ValueError(
            f"{str(legacy)!r} is a checkpoint of an older yume-gym, stored as a pickle, which could run code "
            "when loaded, so it is not read; delete it to start the run over, or pass another --out"
        )
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            header = (f.metadata() or {}).get(STATE_KEY)
            if header is None:
                raise ValueError(f"no {STATE_KEY!r} entry in its header")
            tensors = {name: f.get_tensor(name) for name in f.keys()}
        state = decode_state(json.loads(header), tensors)
    except Exception as err:  # safetensors, json and the decoder raise several types
        raise ValueError(
            f"checkpoint {str(path)!r} is damaged or not a yume-gym training checkpoint "
            f"({type(err).__name__}: {err}); delete it to start over, or pass another --out"
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
        try:
            target.load_state_dict(saved[name])
        except (RuntimeError, ValueError, KeyError) as err:
            reason = " ".join(str(err).split())[:400] or type(err).__name__
            raise ValueError(
                f"the checkpoint's {name!r} does not fit this run ({reason}); resume with the settings "
                "the run was started with, or pass another --out to start a new one"
            ) from err
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

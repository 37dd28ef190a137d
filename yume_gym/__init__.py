"""yume-gym: the Yume-1.5 generative world model as a Gymnasium environment.

``import yume_gym`` registers the ``yume_gym/*`` env ids; the Python API below loads on first use,
so the import stays light (no torch until a model or env is made).

>>> import gymnasium as gym, yume_gym
>>> "yume_gym/YumeWorld-v0" in gym.registry
True
"""

from __future__ import annotations

import importlib
from typing import Any

from yume_gym.env.registration import register_envs

__version__ = "0.1.0"

# public name -> the module that defines it, imported when the name is first used
_LAZY = {
    "build_generator": "yume_gym.model.generator",
    "load_generator": "yume_gym.model.generator",
    "WorldModel": "yume_gym.world.bundle",
    "load_world_model": "yume_gym.world.bundle",
    "with_generation": "yume_gym.world.bundle",
    "load_yume5b": "yume_gym.world.released",
}
__all__ = ["register_envs", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'yume_gym' has no attribute {name!r}")


register_envs()

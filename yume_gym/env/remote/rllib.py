"""RLlib's env runners build world-model envs by name, registered here.

Ray workers do not see the driver's Gymnasium registry, so :func:`register_rllib_env` gives
``ray.tune.register_env`` a creator that imports yume_gym itself and calls ``gym.make`` with
the env config (``server=pool`` among it: the runners' envs then step on the world servers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from yume_gym.env.remote.pool import require


def make_registered_env(env_id: str, env_config: dict[str, Any], wrappers: Sequence[Callable] = ()):
    """``gym.make(env_id, **env_config)`` in any process (yume_gym's ids registered first),
    wrapped by each of ``wrappers`` in turn."""
    import gymnasium as gym

    import yume_gym  # noqa: F401  (registers the ids in this worker)

    env = gym.make(env_id, **dict(env_config))
    for wrap in wrappers:
        env = wrap(env)
    return env


def register_rllib_env(env_id: str = "yume_gym/YumeWorld-v0", name: str | None = None,
                       wrappers: Sequence[Callable] = ()) -> str:
    """Register ``env_id`` (wrapped by ``wrappers``, e.g. RLlib's CNN wants float frames) with
    RLlib under ``name`` (default: the id); returns the name to give ``config.environment(...)``."""
    tune = require("ray.tune")
    name = name or env_id
    wrappers = tuple(wrappers)
    tune.register_env(name, lambda env_config: make_registered_env(env_id, env_config, wrappers))
    return name

"""RLlib's env runners build world-model envs by name, registered here.

Ray workers do not see the driver's Gymnasium registry, so :func:`register_rllib_env` gives
``ray.tune.register_env`` a creator that imports yume_gym itself and calls ``gym.make`` with
the env config (``server=pool`` among it: the runners' envs then step on the world servers).
"""

from __future__ import annotations

from typing import Any

from yume_gym.env.remote.pool import require


def make_registered_env(env_id: str, env_config: dict[str, Any]):
    """``gym.make(env_id, **env_config)`` in any process, yume_gym's ids registered first."""
    import gymnasium as gym

    import yume_gym  # noqa: F401  (registers the ids in this worker)

    return gym.make(env_id, **dict(env_config))


def register_rllib_env(env_id: str = "yume_gym/YumeWorld-v0", name: str | None = None) -> str:
    """Register ``env_id`` with RLlib under ``name`` (default: the id); returns the name to give
    ``config.environment(...)``."""
    tune = require("ray.tune")
    name = name or env_id
    tune.register_env(name, lambda env_config: make_registered_env(env_id, env_config))
    return name

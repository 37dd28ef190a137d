"""RLlib's env runners build world-model envs by name, registered here.

Ray workers do not see the driver's Gymnasium registry, so :func:`register_rllib_env` gives
``ray.tune.register_env`` a creator that imports yume_gym itself and makes the env from the
env config (``server=pool`` among it: the runners' envs then step on the world servers). With
``gym_env_vectorize_mode="vector_entry_point"`` a runner gets one vector env of all its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from yume_gym.env.remote.pool import require


def make_registered_env(env_id: str, env_config: dict[str, Any], wrappers: Sequence[Callable] = ()):
    """``gym.make(env_id, **env_config)`` in any process (yume_gym's ids registered first), or
    the id's batched vector env when the config has ``num_envs`` (RLlib's vector entry point);
    then wrapped by each of ``wrappers`` in turn."""
    import gymnasium as gym

    import yume_gym  # noqa: F401  (registers the ids in this worker)

    config = dict(env_config)
    num_envs = config.pop("num_envs", None)
    if num_envs is None:
        env = gym.make(env_id, **config)
    else:
        env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **config)
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

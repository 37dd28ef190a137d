"""Gymnasium registration of the yume_gym envs (``import yume_gym`` runs it)."""

from __future__ import annotations

import gymnasium as gym


def register_envs() -> None:
    """Register every yume_gym env id once; repeated calls are no-ops."""
    if "yume_gym/ProcWorld-v0" not in gym.registry:
        gym.register(
            id="yume_gym/ProcWorld-v0",
            entry_point="procworld.env:ProcWorldEnv",
            max_episode_steps=200,
        )
    if "yume_gym/YumeWorld-v0" not in gym.registry:
        gym.register(
            id="yume_gym/YumeWorld-v0",
            entry_point="yume_gym.env.single:YumeWorldEnv",
            vector_entry_point="yume_gym.env.vector:YumeWorldVectorEnv",
            max_episode_steps=100,
        )
    if "yume_gym/Yume5B-v0" not in gym.registry:
        gym.register(
            id="yume_gym/Yume5B-v0",
            entry_point="yume_gym.env.yume5b:Yume5BEnv",
            vector_entry_point="yume_gym.env.yume5b:Yume5BVectorEnv",
            max_episode_steps=100,
            nondeterministic=True,  # GPU sampling is not bit-exact; on a CPU a seed replays exactly
        )

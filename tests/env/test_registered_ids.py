"""Every registered yume_gym id passes Gymnasium's and stable-baselines3's env checkers.

Yume5B-v0 needs a released checkpoint directory; tests/world/test_yume5b.py checks it on a
small model of the released layout.
"""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import yume_gym  # noqa: F401  (registers the ids)

IDS = sorted(i for i in gym.registry if i.startswith("yume_gym/") and i != "yume_gym/Yume5B-v0")


def test_the_ids_are_registered():
    assert IDS == ["yume_gym/ProcWorld-v0", "yume_gym/YumeWorld-v0"]


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_checker(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    gym_check_env(env.unwrapped, skip_render_check=False)
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_checker(env_id):
    env = gym.make(env_id)
    sb3_check_env(env, warn=True)
    env.close()

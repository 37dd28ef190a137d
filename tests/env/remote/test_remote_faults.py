"""Faults and placement: a killed server fails its clients clearly within the timeout and
recovers on reset; clients go to the least loaded server; a full pool says so."""

import dataclasses
import time

import gymnasium as gym
import numpy as np
import pytest

import yume_gym  # noqa: F401
from yume_gym.env.remote.client import WorldServerError
from yume_gym.env.remote.pool import start_servers


@pytest.fixture(scope="module")
def pair(ray_session, server_settings):
    """Two servers of two rows each, restarted up to twice, 20 s timeout."""
    pool = start_servers(2, rows=2, name="test-pair-server", max_restarts=2, **{**server_settings, "timeout_s": 20})
    yield pool
    pool.shutdown()


def test_clients_go_to_the_least_loaded_server_and_a_full_pool_says_so(pair):
    envs = [gym.make("yume_gym/YumeWorld-v0", server=pair) for _ in range(4)]
    names = [env.unwrapped.core.server.name for env in envs]
    assert sorted(names) == ["test-pair-server-0"] * 2 + ["test-pair-server-1"] * 2 and names[0] != names[1]
    with pytest.raises(WorldServerError, match="could take 1 rows: .*has 0 of 2 rows free"):
        gym.make("yume_gym/YumeWorld-v0", server=pair)
    envs[0].close()
    assert gym.make("yume_gym/YumeWorld-v0", server=pair).unwrapped.core.server.name == names[0]
    for env in envs[1:]:
        env.close()


def test_a_killed_server_errors_by_name_then_restarts_and_reset_reattaches(pair, ray_session):
    env = gym.make("yume_gym/YumeWorld-v0", server=pair)
    env.reset(seed=4)
    env.step(9)
    name = env.unwrapped.core.server.name
    ray_session.kill(env.unwrapped.core.server.actor, no_restart=False)
    t0 = time.perf_counter()
    with pytest.raises(WorldServerError, match=f"world server '{name}' is down or restarting"):
        env.unwrapped.step(9)
    assert time.perf_counter() - t0 < pair.timeout_s
    with pytest.raises(RuntimeError, match=r"step\(\) was called before reset\(\)"):
        env.unwrapped.step(9)  # no step on a world that is gone
    obs, info = env.reset(seed=4)
    expected, _ = gym.make("yume_gym/YumeWorld-v0").reset(seed=4)
    assert np.array_equal(obs, expected) and info["step"] == 0
    assert env.step(9)[4]["step"] == 1
    env.close()


def test_a_call_past_the_timeout_fails_and_the_rows_need_a_reset(pool):
    env = gym.make("yume_gym/YumeWorld-v0", server=pool)
    env.reset(seed=0)
    core = env.unwrapped.core
    core.pool = dataclasses.replace(pool, timeout_s=1e-4)
    with pytest.raises(WorldServerError, match=r"'test-world-server-0' did not answer step\(\) within 0.0001 s"):
        env.unwrapped.step(0)
    core.pool = pool
    with pytest.raises(RuntimeError, match=r"step\(\) was called before reset\(\)"):
        env.unwrapped.step(0)
    env.reset(seed=0)
    env.close()

"""Faults: a killed server fails its clients clearly within the timeout and recovers on reset."""

import dataclasses
import time

import gymnasium as gym
import numpy as np
import pytest

import yume_gym  # noqa: F401
from yume_gym.env.remote.client import WorldServerError
from yume_gym.env.remote.pool import start_servers


def test_a_killed_server_errors_by_name_then_restarts_and_reset_reattaches(ray_session, server_settings):
    settings = {**server_settings, "timeout_s": 20}
    pool = start_servers(1, rows=2, name="test-fault-server", max_restarts=2, **settings)
    env = gym.make("yume_gym/YumeWorld-v0", server=pool)
    env.reset(seed=4)
    env.step(9)
    ray_session.kill(pool.servers[0].actor, no_restart=False)
    t0 = time.perf_counter()
    with pytest.raises(WorldServerError, match="world server 'test-fault-server-0' is down or restarting"):
        env.unwrapped.step(9)
    assert time.perf_counter() - t0 < pool.timeout_s
    with pytest.raises(RuntimeError, match=r"step\(\) was called before reset\(\)"):
        env.unwrapped.step(9)  # no step on a world that is gone
    obs, info = env.reset(seed=4)
    expected, _ = gym.make("yume_gym/YumeWorld-v0").reset(seed=4)
    assert np.array_equal(obs, expected) and info["step"] == 0
    assert env.step(9)[4]["step"] == 1
    pool.shutdown()


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


def test_clients_go_to_the_least_loaded_server_and_a_full_pool_says_so(ray_session, server_settings):
    pool = start_servers(2, rows=1, name="test-pair-server", **server_settings)
    first = gym.make("yume_gym/YumeWorld-v0", server=pool)
    second = gym.make("yume_gym/YumeWorld-v0", server=pool)
    assert {first.unwrapped.core.server.name, second.unwrapped.core.server.name} == {
        "test-pair-server-0", "test-pair-server-1"}
    with pytest.raises(WorldServerError, match="could take 1 rows: .*has 0 of 1 rows free"):
        gym.make("yume_gym/YumeWorld-v0", server=pool)
    first.close()
    third = gym.make("yume_gym/YumeWorld-v0", server=pool)
    assert third.unwrapped.core.server.name == first.unwrapped.core.server.name
    pool.shutdown()

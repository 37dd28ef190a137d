"""Envs with ``server=``: the local env's spaces, seeds, infos and errors, on a world server."""

import threading

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import yume_gym  # noqa: F401
from yume_gym.env.remote.client import RemoteWorldCore
from yume_gym.env.remote.pool import start_servers
from yume_gym.env.sb3 import YumeWorldSB3VecEnv


def test_same_seed_and_actions_give_the_local_env_s_observations(pool):
    remote = gym.make("yume_gym/YumeWorld-v0", server=pool, frame_size=48, task="reach-red")
    local = gym.make("yume_gym/YumeWorld-v0", frame_size=48, task="reach-red")
    assert isinstance(remote.unwrapped.core, RemoteWorldCore)
    assert remote.observation_space == local.observation_space and remote.action_space == local.action_space
    (obs_r, info_r), (obs_l, info_l) = remote.reset(seed=5), local.reset(seed=5)
    assert np.array_equal(obs_r, obs_l) and info_r["caption"] == info_l["caption"]
    for action in [9, 10, 37, 0]:
        r, l = remote.step(action), local.step(action)
        assert np.array_equal(r[0], l[0]) and r[1:4] == l[1:4]
        assert sorted(r[4]) == sorted(l[4]) and np.array_equal(r[4]["frames"], l[4]["frames"])
        assert r[4]["caption"] == l[4]["caption"] and r[4]["step"] == l[4]["step"]
    remote.close()


def test_events_snapshots_and_render_run_on_the_server(pool):
    env = gym.make("yume_gym/YumeWorld-v0", server=pool, render_mode="rgb_array")
    env.reset(seed=1, options={"prompt": "a desert road", "events": [(2, "a storm rolls in")]})
    assert env.step(0)[4]["event"] is None and env.step(0)[4]["event"] == "a storm rolls in"
    env.unwrapped.set_event("night falls")
    state = env.unwrapped.get_state()
    first = env.step(9)[0]
    assert env.render().shape == (64, 64, 3)
    env.unwrapped.set_state(state)
    again = env.step(9)
    assert np.array_equal(first, again[0]) and again[4]["event"] == "night falls"
    env.close()


def test_bad_requests_get_the_local_errors_and_other_rows_go_on(pool):
    other = gym.make("yume_gym/YumeWorld-v0", server=pool)
    other.reset(seed=0)
    env = gym.make("yume_gym/YumeWorld-v0", server=pool, disable_env_checker=True)
    with pytest.raises(RuntimeError, match=r"step\(\) was called before reset\(\)"):
        env.unwrapped.step(0)
    core = env.unwrapped.core
    with pytest.raises(RuntimeError, match=r"step\(\) was called before reset\(\)"):
        core._call("step", [0], [0])  # the server checks too
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action 81 is out of range"):
        env.step(81)
    with pytest.raises(ValueError, match=r"rows \[3\] must be distinct indices in 0..0"):
        core.step([3], [0])
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"weather": "rain"})
    assert other.step(9)[4]["step"] == 1  # its row was not disturbed
    with pytest.raises(ValueError, match="drop checkpoint="):
        gym.make("yume_gym/YumeWorld-v0", server=pool, checkpoint="elsewhere")
    with pytest.raises(TypeError, match="server must be a WorldServerPool"):
        gym.make("yume_gym/YumeWorld-v0", server="localhost:6379")
    with pytest.raises(TypeError, match="start_servers"):
        gym.make("yume_gym/Yume5B-v0", server=pool, checkpoint_dir="Yume-5B-720P")
    other.close()
    env.close()


def test_clients_steps_run_as_one_batched_pass(pool):
    """Four clients in four threads: their steps share the server's batched calls."""
    envs = [gym.make("yume_gym/YumeWorld-v0", server=pool) for _ in range(4)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    pool.reset_stats()

    def play(env):
        for _ in range(3):
            env.step(9)

    threads = [threading.Thread(target=play, args=(env,)) for env in envs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (stats,) = pool.stats().values()
    assert stats.rows_stepped == 12 and stats.batches < 12 and stats.mean_batch > 1.0
    for env in envs:
        env.close()


def test_vector_env_and_sb3_adapter_run_their_rows_on_a_server(pool):
    envs = gym.make_vec("yume_gym/YumeWorld-v0", num_envs=3, server=pool, max_episode_steps=2)
    local = gym.make_vec("yume_gym/YumeWorld-v0", num_envs=3, max_episode_steps=2)
    assert np.array_equal(envs.reset(seed=7)[0], local.reset(seed=7)[0])
    for _ in range(3):  # through an autoreset
        remote_step, local_step = envs.step([1, 2, 3]), local.step([1, 2, 3])
        assert all(np.array_equal(a, b) for a, b in zip(remote_step[:4], local_step[:4]))
    envs.close()
    venv = YumeWorldSB3VecEnv(num_envs=2, server=pool, frame_size=40, max_episode_steps=2)
    assert venv.venv.autoreset_mode == AutoresetMode.SAME_STEP
    assert venv.reset().shape == (2, 40, 40, 3)
    venv.step(np.array([1, 2]))
    obs, rewards, dones, infos = venv.step(np.array([3, 4]))
    assert dones.all() and infos[0]["terminal_observation"].shape == (40, 40, 3)
    venv.close()


def test_a_server_s_actor_handle_serves_like_its_pool(pool):
    env = gym.make("yume_gym/YumeWorld-v0", server=pool.servers[0].actor)
    env.reset(seed=2)
    assert env.unwrapped.core.server.name == "test-world-server-0"
    assert env.step(9)[4]["step"] == 1
    env.close()


def test_a_cpu_cluster_gets_cpu_servers(pool, ray_session):
    assert ray_session.get(pool.servers[0].actor.device.remote()) == "cpu"


def test_asking_for_more_gpus_than_the_cluster_has_is_refused(ray_session):
    with pytest.raises(ValueError, match=r"2 servers of num_gpus_per_server=1 need 2 GPUs; the Ray cluster has 0"):
        start_servers(2, num_gpus_per_server=1)


def test_the_yume5b_id_runs_on_the_server_s_model(pool):
    env = gym.make("yume_gym/Yume5B-v0", server=pool, frame_size=32)
    assert env.reset(seed=0)[0].shape == (32, 32, 3)
    assert env.step(9)[4]["step"] == 1
    env.close()


def test_return_frames_false_sends_no_frames_and_keeps_the_observation(pool):
    remote = gym.make("yume_gym/YumeWorld-v0", server=pool, return_frames=False)
    local = gym.make("yume_gym/YumeWorld-v0", return_frames=False)
    (obs_r, info_r), (obs_l, _) = remote.reset(seed=3), local.reset(seed=3)
    assert "frames" not in info_r and np.array_equal(obs_r, obs_l)
    r, l = remote.step(9), local.step(9)
    assert "frames" not in r[4] and np.array_equal(r[0], l[0])
    remote.close()

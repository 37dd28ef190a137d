"""Snapshots: get_state / set_state restore a world exactly."""

import numpy as np
import pytest
import torch

from yume_gym.env.single import YumeWorldEnv
from yume_gym.world.bundle import build_world_model

SIZE = 32


@pytest.fixture(scope="module")
def model():
    return build_world_model(frame_size=SIZE, live_head=True)


def steps(env, actions):
    return np.stack([env.step(a)[4]["frames"] for a in actions])


def test_restore_replays_the_same_frames(model):
    env = YumeWorldEnv(checkpoint=model)
    env.reset(seed=0, options={"prompt": "a canyon"})
    steps(env, [1, 2])
    state = env.get_state()
    first = steps(env, [10, 20, 30])
    steps(env, [4, 4])  # wander off
    obs = env.set_state(state)
    assert np.array_equal(obs, state["world"].last_frames[-1])
    assert np.array_equal(steps(env, [10, 20, 30]), first)


def test_snapshot_moves_to_another_env_and_is_a_copy(model):
    env = YumeWorldEnv(checkpoint=model)
    env.reset(seed=1)
    env.step(1)
    state = env.get_state()
    history = state["world"].history.clone()
    expected = steps(env, [5, 6])
    assert torch.equal(state["world"].history, history)  # stepping on did not touch the snapshot
    other = YumeWorldEnv(checkpoint=model)
    other.reset(seed=99)
    other.set_state(state)
    assert np.array_equal(steps(other, [5, 6]), expected)


def test_snapshot_keeps_the_event_schedule_and_live_event(model):
    env = YumeWorldEnv(checkpoint=model, events=[(3, "fog rolls in")])
    env.reset(seed=0)
    env.set_event("birds fly over")
    state = env.get_state()
    events = [env.step(0)[4]["event"] for _ in range(3)]
    assert events == ["birds fly over", "birds fly over", "fog rolls in"]
    env.set_state(state)
    assert [env.step(0)[4]["event"] for _ in range(3)] == events


def test_bad_snapshots(model):
    env = YumeWorldEnv(checkpoint=model)
    with pytest.raises(RuntimeError, match="reset"):
        env.get_state()
    env.reset(seed=0)
    with pytest.raises(TypeError, match="get_state"):
        env.set_state({"world": "not a snapshot"})
    big = YumeWorldEnv(checkpoint=build_world_model(frame_size=2 * SIZE, live_head=True))
    big.reset(seed=0)
    with pytest.raises(ValueError, match="latent shape"):
        env.set_state(big.get_state())

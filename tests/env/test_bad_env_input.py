"""Bad calls to the world-model envs: each is one clear error naming the value, and the env
keeps working afterwards (the same episode steps on as if the bad call never happened)."""

import re

import numpy as np
import pytest

from yume_gym.env.single import YumeWorldEnv
from yume_gym.env.vector import YumeWorldVectorEnv


@pytest.mark.parametrize("seed", [1.5, True, -1, "7", [1, 2]])
def test_bad_seeds_are_refused_before_anything_changes(model, seed):
    env = YumeWorldEnv(checkpoint=model)
    env.reset(seed=3)
    before = env.get_state()
    with pytest.raises(ValueError, match=re.escape(f"seed {seed!r} must be None, a non-negative integer")):
        env.reset(seed=seed)
    assert env.np_random.bit_generator.state == before["np_random"]
    assert env.step(9)[4]["step"] == 1  # the episode goes on


def test_vector_env_refuses_actions_that_are_not_one_per_env(model):
    envs = YumeWorldVectorEnv(2, checkpoint=model)
    envs.reset(seed=0)
    for actions in (None, 9, {0: 1, 1: 2}, "ab"):
        with pytest.raises(ValueError, match=r"actions .* must be a sequence or array of 2 actions"):
            envs.step(actions)
    for seed in (1.5, True):
        with pytest.raises(ValueError, match=re.escape(f"seed {seed!r} must be None")):
            envs.reset(seed=seed)
    _, _, _, _, infos = envs.step(np.array([9, 0]))
    assert list(infos["action_id"]) == [9, 0] and list(infos["step"]) == [1, 1]


def test_multi_discrete_refuses_booleans(model):
    env = YumeWorldEnv(checkpoint=model, action_space="multi_discrete")
    env.reset(seed=0)
    for action in ([True, 1], np.array([True, False]), [1.5, 1]):
        with pytest.raises(ValueError, match="must be two integers"):
            env.step(action)
    assert env.step([1, 0])[4]["action_id"] == 9


def test_events_as_a_numpy_array_are_read_as_their_list(model):
    env = YumeWorldEnv(checkpoint=model)
    _, info = env.reset(seed=0, options={"events": np.array([[0, "a storm rolls in"]], dtype=object)})
    assert info["event"] == "a storm rolls in"
    with pytest.raises(ValueError, match="lone surrogate"):
        env.reset(seed=0, options={"events": [(0, "rain \ud800")]})
    with pytest.raises(ValueError, match=r"prompt: the text .* lone surrogate"):
        env.reset(seed=0, options={"prompt": "a street \udfff"})
    with pytest.raises(ValueError, match="lone surrogate"):
        env.set_event("\ud800")
    assert env.step(0)[4]["event"] == "a storm rolls in"


def test_set_state_checks_everything_before_changing_anything(model):
    env = YumeWorldEnv(checkpoint=model)
    env.reset(seed=0)
    saved = env.get_state()
    env.step(9)
    moved = env.get_state()
    with pytest.raises(ValueError, match=r"state\['np_random'\] is not a state of this env's random generator"):
        env.set_state({**saved, "np_random": {"bit_generator": "MT19937"}})
    assert env.get_state()["world"].step == moved["world"].step  # the world was not rolled back
    env.set_state(saved)
    assert env.get_state()["world"].step == saved["world"].step


def test_frame_size_is_bounded(model):
    for size in (32768, (64, 10**6), 0):
        with pytest.raises(ValueError, match=r"frame_size .* must be None, an int in 1..5120"):
            YumeWorldEnv(checkpoint=model, frame_size=size)


def test_a_tampered_snapshot_is_refused_and_the_world_kept(model):
    import dataclasses

    env = YumeWorldEnv(checkpoint=model)
    env.reset(seed=0)
    saved = env.get_state()
    env.step(9)
    for change, message in (({"step": -3}, "snapshot step"), ({"event": "\ud800"}, "lone surrogate"),
                            ({"schedule": ((2, "rain"), (1, "fog"))}, "comes after")):
        tampered = {**saved, "world": dataclasses.replace(saved["world"], **change)}
        with pytest.raises(ValueError, match=message):
            env.set_state(tampered)
        assert env.get_state()["world"].step == 1

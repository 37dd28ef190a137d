"""One vector API whatever ``gym.make_vec``'s mode: call (set_event among them), get_attr, set_attr."""

import gymnasium as gym
import numpy as np
import pytest

import yume_gym  # noqa: F401
from yume_gym.world.bundle import build_world_model, save_world_model

MODES = [None, "sync", "async"]  # None: the registered vector_entry_point (the batched env)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return str(save_world_model(build_world_model(frame_size=32), tmp_path_factory.mktemp("w") / "tiny"))


@pytest.mark.parametrize("mode", MODES)
def test_the_vector_api_works_in_every_mode(mode, checkpoint):
    envs = gym.make_vec("yume_gym/YumeWorld-v0", num_envs=2, vectorization_mode=mode, checkpoint=checkpoint,
                        render_mode="rgb_array")
    try:
        envs.reset(seed=0)
        assert envs.get_attr("render_mode") == ("rgb_array", "rgb_array")
        envs.set_attr("custom_flag", [7, 7])
        assert envs.get_attr("custom_flag") == (7, 7)
        envs.call("set_event", "night falls")  # Gymnasium's way, the same in every mode
        infos = envs.step(np.array([0, 0]))[4]
        assert list(infos["event"]) == ["night falls", "night falls"]
        envs.call("set_event", None)
        assert list(envs.step(np.array([0, 0]))[4]["event"]) == [None, None]
        frames = envs.call("render")
        assert len(frames) == 2 and frames[0].shape == (32, 32, 3)
    finally:
        envs.close()


def test_the_batched_env_also_sets_events_per_row(checkpoint):
    envs = gym.make_vec("yume_gym/YumeWorld-v0", num_envs=2, checkpoint=checkpoint)
    envs.reset(seed=0)
    envs.set_event("night falls", rows=[1])
    assert list(envs.step(np.array([0, 0]))[4]["event"]) == [None, "night falls"]
    with pytest.raises(ValueError, match="different values per row"):
        envs.set_attr("custom_flag", [1, 2])

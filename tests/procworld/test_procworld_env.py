"""ProcWorldEnv: the Gymnasium contract, determinism, info, and clear errors."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from procworld.env import ProcWorldEnv
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from yume_gym.actions import caption_for_action

PROMPT = "a stone plaza with red pillars and blue boxes under a clear sky"


def test_gymnasium_checker_passes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(ProcWorldEnv(size=32, frames_per_step=4, render_mode="rgb_array"), skip_render_check=True)


@pytest.mark.parametrize("kind", ["discrete", "multi_discrete", "compact"])
def test_sb3_checker_passes(kind):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(ProcWorldEnv(size=64, frames_per_step=2, action_space=kind), warn=True)


def test_registered_id_makes_the_env():
    import yume_gym  # noqa: F401  (registers the ids)

    env = gym.make("yume_gym/ProcWorld-v0", size=32, frames_per_step=2)
    assert env.spec.max_episode_steps == 200 and isinstance(env.unwrapped, ProcWorldEnv)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make("yume_gym/ProcWorld-v0", size=32, frames_per_step=2, render_mode="rgb_array").unwrapped)
    env.reset(seed=0)
    for _ in range(199):
        assert not env.step(0)[3]
    assert env.step(0)[3]  # truncated at step 200


def rollout(seed: int, actions, **options):
    env = ProcWorldEnv(size=48, frames_per_step=4)
    _, info = env.reset(seed=seed, options=options or None)
    frames, poses = [info["frames"]], [info["poses"]]
    for a in actions:
        info = env.step(a)[4]
        frames.append(info["frames"])
        poses.append(info["poses"])
    return np.concatenate(frames), np.concatenate(poses)


def test_same_seed_and_actions_give_identical_frames():
    actions = [9, 2, 30, 0, 57, 13, 80]
    events = [(2, "it starts to snow"), (4, "a yellow box appears")]
    a = rollout(4, actions, prompt=PROMPT, events=events)
    b = rollout(4, actions, prompt=PROMPT, events=events)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = rollout(5, actions, prompt=PROMPT, events=events)  # another layout of the same caption
    assert not np.array_equal(a[0], c[0])
    d = rollout(4, actions)  # no prompt: the scene itself comes from the seed
    assert np.array_equal(d[0], rollout(4, actions)[0]) and not np.array_equal(d[0], a[0])


def test_observation_and_info_format():
    env = ProcWorldEnv(size=(40, 56), frames_per_step=5, render_mode="rgb_array")
    obs, info = env.reset(seed=0, options={"prompt": PROMPT})
    assert env.observation_space.shape == (40, 56, 3) and obs.dtype == np.uint8
    assert info["frames"].shape == (5, 40, 56, 3) and info["step"] == 0 and "action_id" not in info
    obs, reward, terminated, truncated, info = env.step(np.int64(9))
    assert type(reward) is float and reward == 0.0
    assert type(terminated) is bool and type(truncated) is bool
    assert info["frames"].dtype == np.uint8 and np.array_equal(info["frames"][-1], obs)
    assert np.array_equal(env.render(), obs)
    assert info["poses"].shape == (5, 4) and np.array_equal(info["pose"], info["poses"][-1])
    assert info["action_id"] == 9 and info["step"] == 1 and info["frame"] == 9
    assert info["scene"] == PROMPT
    assert info["caption"] == f"{caption_for_action(9)} {PROMPT}"
    assert metadata_ok(env)
    objects = info["objects"]
    assert {o["colour"] + " " + o["kind"] for o in objects} == {"red pillar", "blue box"}
    assert all(set(o) >= {"x", "z", "distance", "bearing", "in_view", "pixels", "height"} for o in objects)
    seen = [o for o in objects if o["pixels"] > 0]
    assert seen and all(o["in_view"] for o in seen)


def metadata_ok(env) -> bool:
    per_step = 16 / env.unwrapped.frames_per_step  # one render() covers a chunk
    return (env.metadata["video_fps"] == 16 and env.metadata["render_fps"] == per_step
            and env.metadata["render_modes"] == ["rgb_array"])


def test_action_space_kinds_agree():
    frames = {}
    for kind, action in (("discrete", 9), ("multi_discrete", np.array([1, 0])), ("compact", 1)):
        env = ProcWorldEnv(size=32, frames_per_step=2, action_space=kind)
        env.reset(seed=0)
        frames[kind] = env.step(action)[0]
    assert np.array_equal(frames["discrete"], frames["multi_discrete"])
    assert np.array_equal(frames["discrete"], frames["compact"])


@pytest.mark.parametrize("action", [81, -1, 1.5, "W", True, np.array([1, 2])])
def test_bad_actions_are_clear_errors(action):
    env = ProcWorldEnv(size=32)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_reward_hook_and_termination():
    seen = {}

    def reward_fn(frames, info):
        seen["shape"], seen["objects"] = frames.shape, info["objects"]
        return float(info["step"])

    env = ProcWorldEnv(size=32, frames_per_step=3, reward_fn=reward_fn, terminate_at_reward=2.0)
    env.reset(seed=0)
    assert env.step(0)[1:3] == (1.0, False)
    assert env.step(0)[1:3] == (2.0, True)
    assert seen["shape"] == (3, 32, 32, 3) and seen["objects"]
    bad = ProcWorldEnv(size=32, reward_fn=lambda frames, info: "high")
    bad.reset(seed=0)
    with pytest.raises(TypeError, match="finite float"):
        bad.step(0)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="size"):
        ProcWorldEnv(size=0)
    with pytest.raises(ValueError, match="frames_per_step"):
        ProcWorldEnv(frames_per_step=0)
    with pytest.raises(ValueError, match="action_space"):
        ProcWorldEnv(action_space="continuous")
    with pytest.raises(ValueError, match="render_mode"):
        ProcWorldEnv(render_mode="human")
    with pytest.raises(TypeError, match="speed"):
        ProcWorldEnv(speed=4.0)
    with pytest.raises(ValueError, match="unknown colour 'pink'"):
        ProcWorldEnv(prompt="a snowy field with pink pillars under a dusk sky")
    env = ProcWorldEnv(size=32)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    with pytest.raises(ValueError, match="not an image"):
        env.reset(options={"image": np.zeros((8, 8, 3), np.uint8)})
    with pytest.raises(ValueError, match="unknown ground"):
        env.reset(options={"prompt": "a lava field with red pillars under a dusk sky"})

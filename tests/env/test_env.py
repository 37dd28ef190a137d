"""YumeWorld-v0: API checks, observation and action spaces, determinism, events, bad inputs."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import yume_gym  # noqa: F401
from yume_gym.env.single import YumeWorldEnv
from yume_gym.events import EventSchedule
from yume_gym.world.bundle import build_world_model, save_world_model

SIZE = 32
OBS = 40  # SB3's NatureCNN needs at least 36x36


@pytest.fixture(scope="module")
def model():
    return build_world_model(frame_size=SIZE, live_head=True)


@pytest.fixture(scope="module")
def bundle_dir(model, tmp_path_factory):
    return str(save_world_model(model, tmp_path_factory.mktemp("bundle") / "tiny"))


def make(model, **kwargs) -> YumeWorldEnv:
    return YumeWorldEnv(checkpoint=model, **kwargs)


def rollout(env, seed, actions, options=None):
    obs, info = env.reset(seed=seed, options=options)
    frames = [info["frames"]]
    for a in actions:
        obs, *_, info = env.step(a)
        frames.append(info["frames"])
    return np.stack(frames), obs


def test_gymnasium_and_sb3_checkers_pass(bundle_dir):
    env = gym.make("yume_gym/YumeWorld-v0", checkpoint=bundle_dir, frame_size=OBS)
    assert env.spec.max_episode_steps == 100
    check_env(env.unwrapped)
    sb3_check_env(env.unwrapped, warn=True)
    assert gym.make("yume_gym/YumeWorld-v0", checkpoint=bundle_dir).unwrapped.model is env.unwrapped.model


@pytest.mark.parametrize(
    "observation,shape,dtype",
    [("frame", (OBS, OBS, 3), np.uint8), ("chunk", (None, OBS, OBS, 3), np.uint8), ("latent", None, np.float32)],
)
def test_observation_modes(model, observation, shape, dtype):
    env = make(model, observation=observation, frame_size=OBS)
    shape = {"latent": model.chunk_latent_shape, "chunk": (model.chunk_frames, OBS, OBS, 3)}.get(observation, shape)
    obs, _ = env.reset(seed=0)
    assert obs.shape == shape and obs.dtype == dtype and obs in env.observation_space
    obs, reward, terminated, truncated, info = env.step(0)
    assert obs.shape == shape and obs in env.observation_space
    assert type(reward) is float and terminated is False and truncated is False
    assert info["frames"].shape == (model.chunk_frames, SIZE, SIZE, 3) and info["frames"].dtype == np.uint8
    assert set(info) >= {"frames", "caption", "event", "action_id", "step", "timings"}


@pytest.mark.parametrize("kind,action,expected_id", [("discrete", 14, 14), ("multi_discrete", np.array([1, 5]), 14),
                                                     ("compact", 5, 2)])
def test_action_space_kinds(model, kind, action, expected_id):
    env = make(model, action_space=kind)
    env.reset(seed=0)
    assert env.step(action)[4]["action_id"] == expected_id


def test_same_seed_same_episode_and_other_seed_differs(model):
    actions = [1, 10, 37]
    a, _ = rollout(make(model), 5, actions, {"prompt": "a snowy mountain pass"})
    b, _ = rollout(make(model), 5, actions, {"prompt": "a snowy mountain pass"})
    c, _ = rollout(make(model), 6, actions, {"prompt": "a snowy mountain pass"})
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_scheduled_event_enters_the_caption_at_its_step(model):
    env = make(model, events=[(2, "a storm rolls in")])
    _, info = env.reset(seed=0, options={"prompt": "a harbour"})
    assert info["event"] is None
    captions, events = [], []
    for _ in range(3):
        info = env.step(1)[4]
        captions.append(info["caption"])
        events.append(info["event"])
    assert events == [None, "a storm rolls in", "a storm rolls in"]
    assert captions[0].endswith("a harbour") and captions[1].endswith("a harbour a storm rolls in")
    _, info = env.reset(seed=0, options={"events": []})  # a reset option replaces the default schedule
    assert [env.step(1)[4]["event"] for _ in range(2)] == [None, None]


def test_event_rules_match_yume_gym_events(model):
    """Scheduled, cleared and live events follow yume_gym.events.EventSchedule step by step."""
    schedule = [(0, "fog"), (2, "night falls"), (4, None), (5, "dawn")]
    reference = EventSchedule(schedule)
    env = make(model)
    _, info = env.reset(seed=0, options={"events": schedule})
    seen, expected = [info["event"]], [reference.active(0)]
    for k in range(1, 7):
        if k in (3, 5):  # a live event; at step 5 the scheduled entry wins
            env.set_event(f"live {k}")
            reference.set(f"live {k}", k)
        seen.append(env.step(0)[4]["event"])
        expected.append(reference.active(k))
    assert seen == expected == ["fog", "fog", "night falls", "live 3", None, "dawn", "dawn"]


def test_live_event_set_and_clear(model):
    env = make(model)
    env.reset(seed=0)
    env.set_event("night falls")
    info = env.step(0)[4]
    assert info["event"] == "night falls" and info["caption"].endswith("night falls")
    env.set_event(None)
    info = env.step(0)[4]
    assert info["event"] is None and "night falls" not in info["caption"]
    with pytest.raises(ValueError, match="blank"):
        env.set_event("  ")


def test_image_start_and_render(model, tmp_path):
    from PIL import Image

    image = np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    path = tmp_path / "start.png"
    Image.fromarray(image).save(path)
    env = make(model, render_mode="rgb_array")
    for start in (str(path), image, Image.fromarray(image)):
        obs, info = env.reset(seed=0, options={"image": start, "prompt": "a garden"})
        assert info["start"] == "image+text" and obs.shape == (SIZE, SIZE, 3)
        assert np.array_equal(env.render(), obs)
    assert env.metadata["video_fps"] == model.fps and env.metadata["render_fps"] == model.fps / model.chunk_frames


def test_image_callable_makes_each_episode_start(model):
    calls = []

    def start_frame(prompt, seed):
        calls.append((prompt, seed))
        return np.full((SIZE, SIZE, 3), seed % 256, dtype=np.uint8)

    env = make(model, image=start_frame, prompt=["a garden", "a beach"])
    obs, info = env.reset(seed=3)
    (prompt, seed), = calls
    assert seed == 3  # the reset's own seed, so a real env reset with it gives the same first frame
    assert info["start"] == "image+text" and prompt == "a beach"  # prompts[seed % 2]
    direct, _ = make(model).reset(seed=3, options={"image": start_frame(prompt, seed), "prompt": prompt})
    assert np.array_equal(obs, direct)
    env.reset(seed=4)
    assert len(calls) == 3 and calls[-1][1] == 4
    env.reset()  # no seed: drawn from the env's generator, which reset(seed=4) fixed
    first_drawn = calls[-1][1]
    env.reset(seed=4)
    env.reset()
    assert calls[-1][1] == first_drawn != 4
    with pytest.raises(TypeError, match="image callable .* must return an image"):
        make(model, image=lambda prompt, seed: None).reset(seed=0)


def test_reward_hook_and_termination(model):
    seen = []

    def brightness(frames, info):
        seen.append((frames.shape, info["step"]))
        return float(frames.mean()) / 255.0

    env = make(model, reward_fn=brightness, terminate_at_reward=0.0)
    env.reset(seed=0)
    _, reward, terminated, _, _ = env.step(1)
    assert 0.0 <= reward <= 1.0 and terminated is True
    assert seen == [((model.chunk_frames, SIZE, SIZE, 3), 1)]
    env = make(model, reward_fn=lambda frames, info: "high")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="finite float"):
        env.step(1)


def test_bad_inputs_raise_clear_errors(model, tmp_path):
    env = make(model)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for bad in (81, -1, 1.5, True, "W", [1, 2]):
        with pytest.raises(ValueError, match="action"):
            env.step(bad)
    with pytest.raises(ValueError, match="known options: \\['image', 'prompt', 'events'\\]"):
        env.reset(options={"imagee": "x.png"})
    with pytest.raises(TypeError, match="prompt must be a string"):
        env.reset(options={"prompt": 42})
    with pytest.raises(ValueError, match="\\(height, width, 3\\)"):
        env.reset(options={"image": np.zeros((8, 8), np.uint8)})
    with pytest.raises(ValueError, match="uint8"):
        env.reset(options={"image": np.zeros((8, 8, 3), np.float32)})
    with pytest.raises(FileNotFoundError, match="no image file"):
        env.reset(options={"image": str(tmp_path / "missing.png")})
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read"):
        env.reset(options={"image": str(tmp_path / "junk.png")})
    with pytest.raises(ValueError):
        env.reset(options={"events": [(-1, "rain")]})
    with pytest.raises(ValueError, match="observation"):
        make(model, observation="pixels")
    with pytest.raises(ValueError, match="action_space"):
        make(model, action_space="continuous")
    with pytest.raises(TypeError, match="checkpoint"):
        YumeWorldEnv(checkpoint=3)

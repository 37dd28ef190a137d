"""Reward functions on crafted frames, the CLIP reward on a tiny local model, and RewardWrapper."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from PIL import Image

from yume_gym.env.rewards import (
    PALETTE,
    ClipTextReward,
    ColourInView,
    GoalImageSimilarity,
    HueInView,
    Novelty,
    RewardFn,
    RewardWrapper,
)

RED = PALETTE["red"]


def frames_with_square(top, left, side=16, size=64, colour=RED):
    frames = np.full((3, size, size, 3), 90, np.uint8)  # (T, H, W, 3) grey
    frames[-1, top : top + side, left : left + side] = colour
    return frames


class FakeChunkEnv(gym.Env):
    """Follows the yume-gym step contract; step k shows frame ``views[k]``."""

    metadata = {"render_modes": [], "render_fps": 16}

    def __init__(self, views, with_frames=True):
        self.views, self.with_frames, self.k = views, with_frames, 0
        self.action_space = spaces.Discrete(81)
        self.observation_space = spaces.Box(0, 255, views[0].shape, np.uint8)

    def _out(self):
        view = self.views[self.k]
        return view, ({"frames": np.stack([view, view]), "step": self.k} if self.with_frames else {"step": self.k})

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.k = 0
        return self._out()

    def step(self, action):
        self.k += 1
        obs, info = self._out()
        return obs, np.float32(0.5), np.False_, self.k == len(self.views) - 1, info


def test_colour_in_view_prefers_the_centre():
    reward = ColourInView("red", tolerance=60)
    centre = reward(frames_with_square(24, 24), {})
    corner = reward(frames_with_square(0, 0), {})
    absent = reward(frames_with_square(24, 24, colour=PALETTE["blue"]), {})
    assert centre > 2 * corner > 0
    assert absent == 0.0
    assert isinstance(centre, float)
    full = ColourInView((230, 40, 40), tolerance=60, region="full")
    assert full(frames_with_square(24, 24), {}) == pytest.approx(256 / 4096)
    assert full(frames_with_square(0, 0), {}) == pytest.approx(256 / 4096)
    assert ColourInView("red")(np.full((1, 8, 8, 3), RED, np.uint8), {}) == pytest.approx(1.0)
    near = np.full((1, 8, 8, 3), (200, 60, 60), np.uint8)  # distance 50 from red
    assert ColourInView("red", tolerance=40)(near, {}) == 0.0
    assert ColourInView("red", tolerance=55)(near, {}) == pytest.approx(1.0)


def test_colour_in_view_scores_the_last_frame():
    frames = frames_with_square(24, 24)
    frames[-1] = 90
    frames[0, 24:40, 24:40] = RED
    assert ColourInView("red")(frames, {}) == 0.0


def test_reward_argument_errors():
    with pytest.raises(ValueError, match="'vermilion'"):
        ColourInView("vermilion")
    with pytest.raises(ValueError, match=r"\(1, 2\)"):
        ColourInView((1, 2))
    with pytest.raises(ValueError, match="tolerance"):
        ColourInView("red", tolerance=0)
    with pytest.raises(ValueError, match="'middle'"):
        ColourInView("red", region="middle")
    with pytest.raises(ValueError, match=r"\(8, 8, 3\)"):
        ColourInView("red")(np.zeros((8, 8, 3), np.uint8), {})
    with pytest.raises(ValueError, match="float32"):
        Novelty()(np.zeros((1, 8, 8, 3), np.float32), {})
    with pytest.raises(ValueError, match="size"):
        Novelty(size=0)
    for bad in ((8, 3), (-1, 0), (2,), (1.5, 1)):
        with pytest.raises(ValueError, match="max_shift"):
            Novelty(max_shift=bad)


def test_hue_in_view_holds_under_light_and_shade():
    bright, shaded = (230, 40, 40), (110, 30, 35)  # a red surface in sun and in shade
    reward = HueInView("red", region="full")
    for colour in (bright, shaded, (60, 20, 18)):
        assert reward(np.full((1, 8, 8, 3), colour, np.uint8), {}) == 1.0
    assert ColourInView("red", region="full")(np.full((1, 8, 8, 3), shaded, np.uint8), {}) == 0.0
    for other in ((240, 140, 30), (128, 128, 128), (200, 180, 180), (8, 2, 2), PALETTE["purple"]):
        assert reward(np.full((1, 8, 8, 3), other, np.uint8), {}) == 0.0  # orange, grey, pale, black, purple
    assert HueInView((250, 290), region="full")(np.full((1, 4, 4, 3), PALETTE["purple"], np.uint8), {}) == 1.0
    centre = HueInView("red")
    assert centre(frames_with_square(24, 24), {}) > 2 * centre(frames_with_square(0, 0), {}) > 0
    mask = centre.mask(frames_with_square(24, 24)[-1])
    assert mask.shape == (64, 64) and mask.sum() == 256
    with pytest.raises(ValueError, match="'teal'"):
        HueInView("teal")
    with pytest.raises(ValueError, match="min_saturation"):
        HueInView("red", min_saturation=0)


def test_goal_image_similarity(tmp_path):
    goal = frames_with_square(24, 24)[-1]
    Image.fromarray(goal).save(tmp_path / "goal.png")
    for source in (goal, str(tmp_path / "goal.png"), Image.fromarray(goal)):
        reward = GoalImageSimilarity(source)
        assert reward(frames_with_square(24, 24), {}) == pytest.approx(1.0)
        assert reward(frames_with_square(0, 0), {}) < reward(frames_with_square(20, 20), {}) < 1.0
    black, white = np.zeros((1, 16, 16, 3), np.uint8), np.full((1, 16, 16, 3), 255, np.uint8)
    assert GoalImageSimilarity(black[0])(white, {}) == pytest.approx(0.0)
    with pytest.raises(FileNotFoundError):
        GoalImageSimilarity(str(tmp_path / "missing.png"))


def test_novelty_is_high_for_new_views_and_zero_for_repeats():
    a, b = frames_with_square(0, 0), frames_with_square(24, 24, colour=(255, 255, 255))
    novelty = Novelty()
    assert novelty(a, {}) == 1.0  # nothing seen yet
    assert novelty(a, {}) == pytest.approx(0.0, abs=1e-6)
    assert novelty(b, {}) > 0.1
    assert novelty(b, {}) == pytest.approx(0.0, abs=1e-6)
    assert novelty(a, {}) == pytest.approx(0.0, abs=1e-6)  # the nearest earlier view counts
    novelty.reset()
    assert novelty(b, {}) == 1.0
    novelty.reset(a)  # the reset view is remembered
    assert novelty(a, {}) == pytest.approx(0.0, abs=1e-6)
    assert isinstance(novelty, RewardFn)


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory):
    """A random tiny CLIP with a 54-token tokenizer and a 32-pixel image processor, saved locally."""
    transformers = pytest.importorskip("transformers")
    from transformers.models.clip import CLIPImageProcessorPil

    path = tmp_path_factory.mktemp("tiny-clip")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    transformers.CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(path)
    CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)
    layers = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4)
    config = transformers.CLIPConfig(
        text_config=dict(
            vocab_size=len(vocab), max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1, **layers
        ),
        vision_config=dict(image_size=32, patch_size=8, **layers),
        projection_dim=16,
    )
    import torch

    torch.manual_seed(0)
    transformers.CLIPModel(config).save_pretrained(path)
    return path


def test_clip_text_reward_with_a_tiny_local_model(tiny_clip_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reward = ClipTextReward("a red ball", tiny_clip_dir)
    centre, corner = reward(frames_with_square(24, 24), {}), reward(frames_with_square(0, 0), {})
    assert isinstance(centre, float) and -1.0 <= centre <= 1.0
    assert centre != corner
    assert reward(frames_with_square(24, 24), {}) == pytest.approx(centre, abs=1e-6)
    with pytest.raises(FileNotFoundError, match="no CLIP model"):
        ClipTextReward("a red ball", tiny_clip_dir / "missing")
    with pytest.raises(ValueError, match="non-blank"):
        ClipTextReward(" ", tiny_clip_dir)


def views_approaching_red():
    return [frames_with_square(24, 24, side=s)[-1] for s in (2, 8, 14, 20, 26)]


def test_reward_wrapper_replaces_reward_and_terminates():
    env = RewardWrapper(FakeChunkEnv(views_approaching_red()), ColourInView("red"), terminate_above=0.3)
    env.reset(seed=0)
    rewards, ends = [], []
    while True:
        _, reward, terminated, truncated, info = env.step(0)
        assert type(reward) is float and type(terminated) is bool and type(truncated) is bool
        assert info["task_reward"] == reward
        rewards.append(reward)
        ends.append(terminated)
        if terminated or truncated:
            break
    assert rewards == sorted(rewards) and rewards[-1] >= 0.3 > rewards[-2]
    assert ends[-1] is True and not any(ends[:-1])


def test_novelty_pays_a_new_place_more_than_turning_on_the_spot():
    rng = np.random.default_rng(0)
    panorama = np.repeat(np.repeat(rng.integers(0, 256, (16, 60, 3), dtype=np.uint8), 4, 0), 4, 1)  # (64, 240, 3)
    elsewhere = np.repeat(np.repeat(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), 4, 0), 4, 1)

    def view(x):  # the camera turned so that the view starts x pixels along the panorama
        return panorama[None, :, x : x + 64]

    turning, plain = Novelty(), Novelty(max_shift=(0, 0))
    for novelty in (turning, plain):
        novelty.reset(view(0))
    assert turning(view(16), {}) == pytest.approx(0.0, abs=1e-6)  # a 4-cell pan of a seen view
    assert plain(view(16), {}) > 0.2
    assert turning(view(56), {}) > 0.2  # past max_shift: mostly new columns
    assert turning(elsewhere[None], {}) > 0.2  # a new place
    tilted = np.concatenate([panorama[8:, :64], panorama[:8, :64]])[None]  # 2 cells up, new rows below
    assert Novelty().distance(Novelty()._embed(tilted[0]), turning._embed(view(0)[0])[None]) == pytest.approx(0.0, abs=1e-6)


def test_reward_wrapper_adds_and_resets_and_reads_observations():
    views = views_approaching_red()
    env = RewardWrapper(FakeChunkEnv(views, with_frames=False), Novelty(), combine="add")
    env.reset()
    _, reward, *_ = env.step(0)
    assert 0.5 < reward < 1.5  # env reward 0.5 plus the novelty of a new view
    env.reset()  # the reset view (views[0]) is remembered, so coming back to it scores 0
    env.env.k = -1
    _, reward, *_ = env.step(0)
    assert reward == pytest.approx(0.5, abs=1e-6)
    with pytest.raises(ValueError, match="finite"):
        bad = RewardWrapper(FakeChunkEnv(views), lambda frames, info: float("nan"))
        bad.reset()
        bad.step(0)
    with pytest.raises(TypeError, match="callable"):
        RewardWrapper(FakeChunkEnv(views), reward_fn=3)
    with pytest.raises(ValueError, match="'sum'"):
        RewardWrapper(FakeChunkEnv(views), Novelty(), combine="sum")

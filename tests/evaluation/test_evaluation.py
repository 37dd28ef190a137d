import numpy as np
import pytest
import torch

from yume_gym.actions import SpeedSuffix
from yume_gym.evaluation.ground_truth import ground_truth_episode
from yume_gym.model.inverse_dynamics import (
    InverseDynamics,
    InverseDynamicsConfig,
    chunk_windows,
)
from yume_gym.evaluation.metrics import brightness, psnr, ssim


def test_psnr_and_ssim_on_known_frames():
    a = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    b = a.astype(np.int32) + 5
    assert np.allclose(psnr(a, np.clip(b, 0, 255).astype(np.uint8)), 10 * np.log10(255**2 / 25), atol=0.2)
    assert np.allclose(ssim(a, a), 1.0)
    assert (ssim(a, 255 - a) < 0.5).all()


def test_ground_truth_episodes_are_reproducible_and_take_given_actions():
    one = ground_truth_episode(3, 0, 3, 4, 32, SpeedSuffix())
    two = ground_truth_episode(3, 0, 3, 4, 32, SpeedSuffix(), actions=one.actions)
    assert one.frames.shape == (13, 32, 32, 3) and np.array_equal(one.frames, two.frames)
    night = ground_truth_episode(3, 0, 3, 4, 32, SpeedSuffix(), "night falls", 1, one.actions)
    assert night.event_chunk == 1 and brightness(night.frames[-4:]) <= brightness(one.frames[-4:])


def test_chunk_windows_pair_each_chunk_with_the_frame_before_it():
    frames = np.arange(9)[None, :, None, None, None] * np.ones((2, 9, 4, 4, 3), dtype=np.uint8)
    actions = np.array([[0, 7, 7, 7, 7, 9, 9, 9, 9], [0, 1, 1, 1, 1, 2, 2, 2, 2]])
    windows, labels = chunk_windows(frames, actions, 4)
    assert windows.shape == (4, 5, 4, 4, 3)
    assert windows[0, :, 0, 0, 0].tolist() == [0, 1, 2, 3, 4] and windows[2, :, 0, 0, 0].tolist() == [4, 5, 6, 7, 8]
    assert labels.tolist() == [7, 1, 9, 2]


def test_inverse_dynamics_rejects_wrong_window_shapes():
    model = InverseDynamics(InverseDynamicsConfig(chunk_frames=4, image_size=32, width=8))
    assert model.predict(torch.zeros(3, 5, 32, 32, 3, dtype=torch.uint8)).shape == (3,)
    with pytest.raises(ValueError, match=r"\(B, 5, H, W, 3\)"):
        model(torch.zeros(3, 4, 32, 32, 3, dtype=torch.uint8))


def test_ground_truth_through_the_embedded_codec_keeps_the_episode_close():
    from yume_gym.evaluation.report import through_codec
    from yume_gym.world.bundle import load_world_model

    model = load_world_model()
    if not model.is_trained:
        pytest.skip("the embedded model is not trained in this checkout")
    episodes = [ground_truth_episode(7000001, i, 2, model.chunk_frames, model.frame_size[0], SpeedSuffix())
                for i in range(2)]
    truth = np.stack([ep.frames for ep in episodes])
    frames = through_codec(model, episodes)
    assert frames.shape == truth.shape and frames.dtype == np.uint8
    quality = psnr(frames.reshape(-1, *frames.shape[2:]), truth.reshape(-1, *truth.shape[2:])).mean()
    assert 25.0 < quality < 60.0  # measured 29.7 dB over 16 episodes: close, not the identity

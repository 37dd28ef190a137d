import numpy as np
import pytest
import torch

from yume_gym.evaluation.forced_following import forced_following
from yume_gym.evaluation.ground_truth import ground_truth_episode
from yume_gym.model.inverse_dynamics import (
    InverseDynamics,
    InverseDynamicsConfig,
    follow_accuracy,
)
from yume_gym.model.codec import frames_to_video as to_video
from yume_gym.world.bundle import build_world_model


def test_follow_accuracy_scores_each_action_family():
    # action id = movement * 9 + rotation
    predicted, labels = np.array([10, 11, 19, 0]), np.array([10, 10, 10, 80])
    assert follow_accuracy(predicted, labels) == (0.5, 0.5, 0.25)
    with pytest.raises(ValueError, match="one shape"):
        follow_accuracy(predicted, labels[:3])


def test_every_chunk_is_generated_twice_from_the_true_history_with_the_same_noise(monkeypatch):
    torch.manual_seed(0)
    model = build_world_model(frame_size=32)
    f, lat = model.chunk_frames, model.generation.chunk_latents
    episodes = [ground_truth_episode(11, i, 3, f, 32, model.speed) for i in range(2)]
    calls = []
    condition = model.generator.condition

    def spy(x, context, history=None):
        calls.append((x.clone(), context.clone(), None if history is None else history.clone()))
        return condition(x, context, history)

    monkeypatch.setattr(model.generator, "condition", spy)
    idm = InverseDynamics(InverseDynamicsConfig(chunk_frames=f, image_size=32, width=8))
    result = forced_following(model, episodes, idm, seed=5)

    def encode(frames):  # (F, H, W, 3) uint8 -> (C, L, h, w)
        with torch.no_grad():
            return model.codec.encode(to_video(frames, torch.device("cpu")))[0]

    assert len(calls) == 2 * 3  # chunks 1..3, each under the action taken and a random one
    for k in range(1, 4):
        (noise_a, context_a, history_a), (noise_b, context_b, history_b) = calls[2 * k - 2 : 2 * k]
        for i, ep in enumerate(episodes):
            parts = [encode(np.repeat(ep.frames[:1], f, 0))]
            parts += [encode(ep.frames[1 + (j - 1) * f : 1 + j * f]) for j in range(1, k)]
            expected = torch.cat(parts, dim=1)  # (C, k * L, h, w)
            assert history_a[i].shape[1] == k * lat
            assert torch.allclose(history_a[i], expected, atol=1e-5)
        assert torch.equal(history_a, history_b) and torch.equal(noise_a, noise_b)
        assert not torch.equal(context_a, context_b)
    for accuracy in (result.taken, result.swapped, result.swapped_previous, result.truth_previous):
        assert all(0.0 <= a <= 1.0 for a in accuracy)
    assert result.copy_psnr > 0 and result.psnr > 0

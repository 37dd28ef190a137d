"""The inverse-dynamics classifier: input layout, strict save/load (old files too), training."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from yume_gym.model.inverse_dynamics import (
    IDM_KIND,
    InverseDynamics,
    InverseDynamicsConfig,
    idm_loss,
    load_inverse_dynamics,
    save_inverse_dynamics,
)
from yume_gym.train.inverse_dynamics import accuracy
from yume_gym.model.weights_file import save_weights

SMALL = {"chunk_frames": 4, "image_size": 32, "width": 8}


@dataclass
class LegacyConfig:
    """The config of weight files written before the input-layout fields existed."""

    chunk_frames: int = 4
    image_size: int = 32
    width: int = 8


def windows(n: int, seed: int = 0) -> torch.Tensor:
    frames = np.random.default_rng(seed).integers(0, 256, (n, 5, 32, 32, 3), dtype=np.uint8)
    return torch.from_numpy(frames)


def test_motion_layout_adds_one_difference_per_chunk_frame_as_channels():
    plain = InverseDynamics(InverseDynamicsConfig(**SMALL, motion=False, norm=False))
    motion = InverseDynamics(InverseDynamicsConfig(**SMALL))
    assert plain.features[0].weight.shape == (8, 15, 4, 4)  # 5 frames x RGB
    assert motion.features[0].weight.shape == (8, 27, 4, 4)  # 5 frames + 4 differences, x RGB
    assert isinstance(motion.features[1], torch.nn.GroupNorm)
    movement, rotation = motion(windows(3))
    assert movement.shape == (3, 9) and rotation.shape == (3, 9)


def test_motion_channels_make_the_output_depend_on_frame_order():
    model = InverseDynamics(InverseDynamicsConfig(**SMALL, norm=False)).eval()
    x = windows(2)
    with torch.no_grad():
        forward, backward = model(x)[0], model(x.flip(1))[0]
    assert not torch.allclose(forward, backward)


def test_save_and_load_round_trip_predicts_the_same(tmp_path):
    model = InverseDynamics(InverseDynamicsConfig(**SMALL)).eval()
    loaded = load_inverse_dynamics(save_inverse_dynamics(model, tmp_path / "idm.safetensors"))
    assert loaded.config == model.config
    x = windows(4)
    with torch.no_grad():
        assert torch.equal(model(x)[0], loaded(x)[0]) and torch.equal(model(x)[1], loaded(x)[1])


def test_files_without_layout_fields_load_with_the_legacy_layout(tmp_path):
    old = InverseDynamics(InverseDynamicsConfig(**SMALL, motion=False, norm=False)).eval()
    path = save_weights(old, tmp_path / "old.safetensors", IDM_KIND, LegacyConfig())
    loaded = load_inverse_dynamics(path)
    assert not loaded.config.motion and not loaded.config.norm
    assert np.array_equal(loaded.predict(windows(4)), old.predict(windows(4)))


def test_weights_that_do_not_match_their_config_fail_naming_the_tensors(tmp_path):
    motion = InverseDynamics(InverseDynamicsConfig(**SMALL))
    claimed = InverseDynamicsConfig(**SMALL, motion=False)
    path = save_weights(motion, tmp_path / "bad.safetensors", IDM_KIND, claimed)
    with pytest.raises(ValueError, match=r"(?s)do not match.*features\.0\.weight: file \(8, 27, 4"):
        load_inverse_dynamics(path)


def test_a_few_steps_fit_a_toy_batch():
    torch.manual_seed(0)
    model = InverseDynamics(InverseDynamicsConfig(**SMALL))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x, labels = windows(8), torch.arange(8) * 10  # 8 distinct actions
    first = idm_loss(model, x, labels).item()
    for _ in range(30):
        loss = idm_loss(model, x, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first


def test_accuracy_reports_a_movement_confusion_matrix():
    model = InverseDynamics(InverseDynamicsConfig(**SMALL))
    labels = np.arange(0, 81, 9)  # each movement once, rotation none
    report = accuracy(model, windows(9).numpy(), labels)
    confusion = np.array(report["movement_confusion"])
    assert confusion.shape == (9, 9) and confusion.sum(1).tolist() == [1] * 9
    assert report["movement"] == pytest.approx(np.trace(confusion) / 9)


def test_group_norm_needs_a_width_in_multiples_of_8():
    with pytest.raises(ValueError, match=r"width 12 must be a multiple of 8"):
        InverseDynamicsConfig(width=12)
    assert InverseDynamicsConfig(width=12, norm=False).in_channels == 27

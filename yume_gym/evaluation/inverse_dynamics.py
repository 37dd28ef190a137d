"""An inverse-dynamics classifier: which action moved the camera through a chunk of frames.

It reads the last frame before a chunk and the chunk's frames, stacked as channels
((1 + F) * 3, H, W), and predicts the movement (9 classes) and the rotation (9 classes) of
:mod:`yume_gym.actions`. Trained on ground-truth procworld clips, it scores how well generated
chunks follow their actions: a world model that ignores the keys scores near chance.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from yume_gym.actions import NUM_MOVEMENTS, NUM_ROTATIONS
from yume_gym.model.weights_file import (
    config_from_dict,
    load_weights_strict,
    read_weights,
    save_weights,
)

IDM_KIND = "yume_gym.inverse_dynamics"


@dataclass
class InverseDynamicsConfig:
    """Frames per chunk (``chunk_frames``), frame size and the width of the first conv stage."""

    chunk_frames: int = 4
    image_size: int = 64
    width: int = 32


class InverseDynamics(nn.Module):
    """A strided CNN over stacked frames with a movement head and a rotation head."""

    def __init__(self, config: InverseDynamicsConfig) -> None:
        super().__init__()
        self.config = config
        w, c_in = config.width, 3 * (config.chunk_frames + 1)
        self.features = nn.Sequential(
            nn.Conv2d(c_in, w, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(2 * w, 4 * w, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(4 * w, 4 * w, 4, stride=2, padding=1), nn.GELU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        )  # fmt: skip
        self.trunk = nn.Sequential(nn.Linear(16 * w, 256), nn.GELU())
        self.movement = nn.Linear(256, NUM_MOVEMENTS)
        self.rotation = nn.Linear(256, NUM_ROTATIONS)

    def forward(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        """(B, 1 + F, H, W, 3) uint8 frames -> movement logits (B, 9), rotation logits (B, 9)."""
        expected = self.config.chunk_frames + 1
        if frames.ndim != 5 or frames.shape[1] != expected or frames.shape[-1] != 3:
            raise ValueError(f"frames must be (B, {expected}, H, W, 3) (the frame before the chunk, then the "
                             f"chunk); got {tuple(frames.shape)}")
        x = rearrange(frames.float() / 127.5 - 1.0, "b t h w c -> b (t c) h w")  # (B, (1+F)*3, H, W)
        h = self.trunk(self.features(x))
        return self.movement(h), self.rotation(h)

    @torch.no_grad()
    def predict(self, frames: np.ndarray | Tensor, batch: int = 256) -> np.ndarray:
        """Action ids (B,) = movement * 9 + rotation for (B, 1 + F, H, W, 3) uint8 frames."""
        frames = torch.as_tensor(frames)
        out = []
        for part in frames.split(batch):
            movement, rotation = self(part)
            out.append(movement.argmax(1) * NUM_ROTATIONS + rotation.argmax(1))
        return torch.cat(out).numpy()


def chunk_windows(frames: np.ndarray, actions: np.ndarray, chunk_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut aligned clips (N, T, H, W, 3) and actions (N, T) into (M, 1 + F, H, W, 3) windows and
    their action ids (M,): window k holds frame F*(k-1) and frames F*(k-1)+1 .. F*k."""
    n, t = actions.shape
    ks = range(1, (t - 1) // chunk_frames + 1)
    windows = [frames[:, chunk_frames * (k - 1) : chunk_frames * k + 1] for k in ks]
    labels = [actions[:, chunk_frames * (k - 1) + 1] for k in ks]
    return np.concatenate(windows), np.concatenate(labels).astype(np.int64)


def idm_loss(model: InverseDynamics, frames: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy of both heads for action ids ``labels`` (B,)."""
    movement, rotation = model(frames)
    return F.cross_entropy(movement, labels // NUM_ROTATIONS) + F.cross_entropy(rotation, labels % NUM_ROTATIONS)


def save_inverse_dynamics(model: InverseDynamics, path: str | os.PathLike) -> Path:
    """Weights and config in one safetensors file, atomically."""
    return save_weights(model, path, IDM_KIND, model.config)


def load_inverse_dynamics(path: str | os.PathLike) -> InverseDynamics:
    """Rebuild a classifier saved by :func:`save_inverse_dynamics`, strictly."""
    data, tensors = read_weights(path, IDM_KIND)
    model = InverseDynamics(config_from_dict(InverseDynamicsConfig, data, str(path)))
    load_weights_strict(model, tensors, str(path))
    return model.eval()

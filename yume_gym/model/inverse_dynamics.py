"""An inverse-dynamics classifier: which action moved the camera through a chunk of frames.

It reads the last frame before a chunk and the chunk's frames and predicts the movement and
the rotation of :mod:`yume_gym.actions`. Trained on ground-truth procworld clips, it scores how
well generated chunks follow their actions. The input layout and the two choices that made it
learn: docs/architecture.md.
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
    load_module,
    save_weights,
)

IDM_KIND = "yume_gym.inverse_dynamics"
MOTION_GAIN = 4.0  # frame differences have ~1/5 of the frames' spread (std 0.08 vs 0.43 in [-1, 1])
# The layout of files written before the ``motion`` and ``norm`` fields existed.
LEGACY_LAYOUT = {"motion": False, "norm": False}


@dataclass
class InverseDynamicsConfig:
    """Frames per chunk (``chunk_frames``), frame size, the width of the first conv stage, and the
    layout: ``motion`` adds the F consecutive-frame differences as input channels, ``norm`` a
    GroupNorm after every convolution."""

    chunk_frames: int = 4
    image_size: int = 64
    width: int = 32
    motion: bool = True
    norm: bool = True

    def __post_init__(self) -> None:
        if self.norm and (self.width < 8 or self.width % 8):
            raise ValueError(f"width {self.width} must be a multiple of 8 with norm (GroupNorm of "
                             "8 groups); pass e.g. width=32, or norm=False")

    @property
    def in_channels(self) -> int:
        """Channels of the stacked input: 3 per frame, plus 3 per difference with ``motion``."""
        return 3 * (self.chunk_frames + 1) + (3 * self.chunk_frames if self.motion else 0)


def _down(c_in: int, c_out: int, norm: bool) -> list[nn.Module]:
    """A stride-2 4x4 convolution (halves H and W), optionally group-normed, and a GELU."""
    conv = nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)
    return [conv, nn.GroupNorm(8, c_out), nn.GELU()] if norm else [conv, nn.GELU()]


class InverseDynamics(nn.Module):
    """A strided CNN over stacked frames with a movement head and a rotation head."""

    def __init__(self, config: InverseDynamicsConfig) -> None:
        super().__init__()
        self.config = config
        w, n = config.width, config.norm
        self.features = nn.Sequential(
            *_down(config.in_channels, w, n), *_down(w, 2 * w, n),
            *_down(2 * w, 4 * w, n), *_down(4 * w, 4 * w, n),
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
        x = frames.float() / 127.5 - 1.0  # (B, 1+F, H, W, 3)
        if self.config.motion:
            x = torch.cat([x, MOTION_GAIN * (x[:, 1:] - x[:, :-1])], dim=1)  # (B, 1+2F, H, W, 3)
        x = rearrange(x, "b t h w c -> b (t c) h w")  # (B, in_channels, H, W)
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


def follow_accuracy(predicted: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """Shares of predicted action ids (B,) that match ``labels`` (B,) in movement, in rotation
    and as whole actions."""
    if predicted.shape != labels.shape:
        raise ValueError(f"predicted {predicted.shape} and labels {labels.shape} must have one shape")
    return (float(np.mean(predicted // NUM_ROTATIONS == labels // NUM_ROTATIONS)),
            float(np.mean(predicted % NUM_ROTATIONS == labels % NUM_ROTATIONS)),
            float(np.mean(predicted == labels)))


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
    """Rebuild a classifier saved by :func:`save_inverse_dynamics`, strictly; files from before
    the input-layout fields load with :data:`LEGACY_LAYOUT`."""
    return load_module(path, IDM_KIND, InverseDynamicsConfig, InverseDynamics, defaults=LEGACY_LAYOUT).eval()

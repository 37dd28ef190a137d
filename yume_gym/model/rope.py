"""3D rotary position embeddings (RoPE) over (time, height, width) token positions.

As in Wan, each attention head's channels are taken as adjacent pairs (x[2i], x[2i+1]) and
each pair is rotated by an angle ``position * theta ** (-2i / d_axis)``. The head dim ``d`` is
split into a temporal part of ``d - 4 * (d // 6)`` channels and height and width parts of
``2 * (d // 6)`` each (44 / 42 / 42 for d = 128).

Positions are integer (t, h, w) triples, one per token, and angles are computed on the fly
for whatever positions a forward pass uses. The released code reads them from a fixed table
of 1024 positions per axis; computing them instead gives the same values there and keeps
long episodes (more than 1024 history latents) running.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor


def axis_dims(head_dim: int) -> tuple[int, int, int]:
    """Channels of one head given to the (time, height, width) axes."""
    spatial = 2 * (head_dim // 6)
    return head_dim - 2 * spatial, spatial, spatial


def grid_positions(t0: int, frames: int, height: int, width: int, device=None) -> Tensor:
    """(frames * height * width, 3) positions of a grid whose first frame has time index t0."""
    t = torch.arange(t0, t0 + frames, device=device)
    h = torch.arange(height, device=device)
    w = torch.arange(width, device=device)
    grid = torch.meshgrid(t, h, w, indexing="ij")
    return torch.stack(grid, dim=-1).reshape(-1, 3)  # (f*h*w, 3), row-major like the tokens


def rope_cos_sin(positions: Tensor, head_dim: int, theta: float = 10000.0) -> tuple[Tensor, Tensor]:
    """cos and sin of the rotation angles, each (L, head_dim // 2), float32."""
    parts = []
    for axis, d in enumerate(axis_dims(head_dim)):
        inv_freq = theta ** (
            -torch.arange(0, d, 2, dtype=torch.float64, device=positions.device) / d
        )
        parts.append(positions[:, axis, None].to(torch.float64) * inv_freq)  # (L, d/2)
    angles = torch.cat(parts, dim=1)  # (L, head_dim/2)
    return angles.cos().float(), angles.sin().float()


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate ``x`` (B, heads, L, head_dim) by the angles of ``rope_cos_sin``; float32 math."""
    pairs = rearrange(x.float(), "b n l (d two) -> b n l d two", two=2)
    real, imag = pairs.unbind(-1)  # (B, n, L, d/2) each
    rotated = torch.stack([real * cos - imag * sin, real * sin + imag * cos], dim=-1)
    return rearrange(rotated, "b n l d two -> b n l (d two)").to(x.dtype)

"""TSCM as released: distance-dependent spatial compression of the history latents.

All clean past latents are embedded at every forward pass; the older a latent, the coarser
its patch embedding, in tiers set by the history's length (:data:`TIERS`). ``"full"`` history
mode embeds every latent at 1x, for comparisons. Levels, the tier table, RoPE positions and
the two deviations from the released code: docs/architecture.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from yume_gym.model.rope import grid_positions

MAX_HISTORY = 1366
LEVEL_FACTORS = {"1x": 1, "2x": 2, "4x": 4, "8x": 8, "16x": 16}
LEVEL_ATTRS = {
    "1x": "patch_embedding",
    "2x": "patch_embedding_2x",
    "4x": "patch_embedding_4x",
    "8x": "patch_embedding_8x",
    "16x": "patch_embedding_16x",
    "2x_f": "patch_embedding_2x_f",
}
# (largest H served, level of the first latent, level of the middle run [1 : H - recent],
#  recent bands as (start, stop) counted back from the end, and their level)
TIERS = (
    (6, "1x", "2x", ((1, 0, "1x"),)),
    (22, "1x", "4x", ((5, 3, "2x"), (3, 0, "1x"))),
    (86, "1x", "8x", ((21, 5, "4x"), (5, 3, "2x"), (3, 0, "1x"))),
    (342, "2x", "16x", ((85, 21, "8x"), (21, 5, "4x"), (5, 3, "2x"), (3, 0, "1x"))),
    (
        MAX_HISTORY,
        "2x",
        "far",
        ((341, 85, "16x"), (85, 21, "8x"), (21, 5, "4x"), (5, 3, "2x"), (3, 0, "1x")),
    ),
)


@dataclass(frozen=True)
class Band:
    """History latents [start, stop) embedded at one level."""

    start: int
    stop: int
    level: str


def plan_history(num_history: int, mode: str = "tscm") -> list[Band]:
    """The bands, oldest first, for ``num_history`` kept latents (at most :data:`MAX_HISTORY`)."""
    if not 1 <= num_history <= MAX_HISTORY:
        raise ValueError(
            f"num_history={num_history} must be in 1..{MAX_HISTORY}; apply keep_history first"
        )
    if mode == "full":
        return [Band(0, num_history, "1x")]
    _, first, middle, recent = next(tier for tier in TIERS if num_history <= tier[0])
    h = num_history
    bands = [Band(0, 1, first), Band(1, h - recent[0][0], middle)]
    bands += [Band(max(h - start, 1), h - stop, level) for start, stop, level in recent]
    return [b for b in bands if b.stop > b.start]


def kept_count(num_history: int) -> int:
    """How many latents :func:`keep_history` keeps of ``num_history``."""
    return min(num_history, MAX_HISTORY)


def keep_history(history: Tensor) -> Tensor:
    """(B, C, Hh, H, W) -> at most MAX_HISTORY latents: the first and the most recent ones."""
    if history.shape[2] <= MAX_HISTORY:
        return history
    return torch.cat([history[:, :, :1], history[:, :, -(MAX_HISTORY - 1) :]], dim=2)


def level_grid(
    level: str, latent_hw: tuple[int, int], patch_hw: tuple[int, int]
) -> tuple[int, int]:
    """(rows, cols) of tokens that one latent of ``latent_hw`` makes at ``level``."""
    (h, w), (ph, pw) = latent_hw, patch_hw
    if level == "far":
        h, w = math.ceil(h / (2 * ph)), math.ceil(w / (2 * pw))
        level = "16x"
    s = LEVEL_FACTORS[level]
    return math.ceil(h / (s * ph)), math.ceil(w / (s * pw))


def history_token_count(
    num_history: int, latent_hw: tuple[int, int], patch_hw: tuple[int, int], mode: str = "tscm"
) -> int:
    """Tokens the history makes (after :func:`keep_history`); 0 for no history."""
    if num_history < 0:
        raise ValueError(f"num_history={num_history} must be >= 0")
    if num_history == 0:
        return 0
    total = 0
    for band in plan_history(kept_count(num_history), mode):
        rows, cols = level_grid(band.level, latent_hw, patch_hw)
        total += (band.stop - band.start) * rows * cols
    return total


def coarse_embeddings(
    in_dim: int, dim: int, patch_size: tuple[int, int, int]
) -> dict[str, nn.Conv3d]:
    """The released extra embeddings, by attribute name (weights set by :func:`init_coarse`)."""
    _, ph, pw = patch_size
    convs = {
        LEVEL_ATTRS[level]: nn.Conv3d(in_dim, dim, (1, s * ph, s * pw), stride=(1, s * ph, s * pw))
        for level, s in LEVEL_FACTORS.items()
        if s > 1
    }
    convs[LEVEL_ATTRS["2x_f"]] = nn.Conv3d(
        in_dim, in_dim, (1, 2 * ph, 2 * pw), stride=(1, 2 * ph, 2 * pw)
    )
    return convs


@torch.no_grad()
def init_coarse(model: nn.Module) -> None:
    """Set each coarse embedding to the chunk's patch embedding resized by trilinear
    interpolation (bias copied), as the release initialised them; ``2x_f`` is left as it is."""
    base = model.patch_embedding
    for level, s in LEVEL_FACTORS.items():
        if s == 1:
            continue
        conv = getattr(model, LEVEL_ATTRS[level])
        resized = F.interpolate(
            base.weight.float(), size=conv.kernel_size, mode="trilinear", align_corners=False
        )  # (dim, in_dim, 1, s*ph, s*pw)
        conv.weight.copy_(resized)
        conv.bias.copy_(base.bias)


def _padded_conv(conv: nn.Conv3d, x: Tensor) -> Tensor:
    """``conv`` over (B, C, n, H, W) zero-padded at the bottom/right to multiples of its kernel.

    When the whole latent fits in one kernel window, the padding only multiplies zeros, so the
    kernel is cropped to the latent instead: the same result without the padded work.
    """
    _, kh, kw = conv.kernel_size
    h, w = x.shape[-2:]
    if h <= kh and w <= kw:
        return F.conv3d(x, conv.weight[..., :h, :w], conv.bias, stride=(conv.stride[0], h, w))
    return conv(F.pad(x, (0, -w % kw, 0, -h % kh)))


def _embed(model: nn.Module, level: str, latents: Tensor) -> Tensor:
    """(B, C, n, H, W) latents -> (B, dim, n, h', w') at ``level``."""
    if level == "far":
        latents = _padded_conv(getattr(model, LEVEL_ATTRS["2x_f"]), latents)  # (B, C, n, H/4, W/4)
        level = "16x"
    return _padded_conv(getattr(model, LEVEL_ATTRS[level]), latents)


def embed_history(model: nn.Module, history: Tensor, mode: str = "tscm") -> tuple[Tensor, Tensor]:
    """History tokens (B, L, dim) and their RoPE positions (L, 3), oldest first.

    ``history`` (B, C, Hh, H, W) must already be cut by :func:`keep_history`; ``model`` holds
    the embeddings under the names in :data:`LEVEL_ATTRS`.
    """
    tokens, positions = [], []
    for band in plan_history(history.shape[2], mode):
        emb = _embed(
            model, band.level, history[:, :, band.start : band.stop]
        )  # (B, dim, n, h', w')
        n, h, w = emb.shape[2:]
        tokens.append(rearrange(emb, "b d f h w -> b (f h w) d"))
        positions.append(grid_positions(band.start, n, h, w, device=history.device))
    return torch.cat(tokens, dim=1), torch.cat(positions)

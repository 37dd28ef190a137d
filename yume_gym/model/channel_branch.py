"""The paper's channel-compressed history branch (Yume-1.5, section 4.2.2).

The released checkpoints do not contain it; it is built only when
``GeneratorConfig.channel_branch`` is on. The history is patchified once to a few channels
and fused with the predicted tokens by linear attention in every block. Data flow, the
attention formula and the choices the paper leaves open: docs/architecture.md.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from yume_gym.model.attention import RMSNorm
from yume_gym.model.rope import apply_rope, grid_positions

DENOMINATOR_EPS = 1e-6


def patchify_history(conv: nn.Conv3d, history: Tensor) -> tuple[Tensor, Tensor, int]:
    """``z_linear`` tokens (B, Lz, width), their positions (Lz, 3) and the group count G."""
    kt, kh, kw = conv.kernel_size
    _, _, frames, height, width = history.shape
    pad_t, pad_h, pad_w = -frames % kt, -height % kh, -width % kw
    padded = F.pad(history, (0, pad_w, 0, pad_h, pad_t, 0))  # (B, C, T', H', W'), old side in time
    z = conv(padded)  # (B, width, G, h, w)
    groups, h, w = z.shape[2:]
    positions = grid_positions(0, groups, h, w, device=history.device)  # (G*h*w, 3)
    return rearrange(z, "b c g h w -> b (g h w) c"), positions, groups


class ChannelFusion(nn.Module):
    """One block's fusion of the predicted tokens with ``z_linear`` by linear attention."""

    def __init__(self, dim: int, width: int = 96, num_heads: int = 4, eps: float = 1e-6):
        super().__init__()
        self.num_heads = num_heads
        self.down = nn.Linear(dim, width)
        self.q = nn.Linear(width, width)
        self.k = nn.Linear(width, width)
        self.v = nn.Linear(width, width)
        self.norm_q = RMSNorm(width, eps=eps)
        self.norm_k = RMSNorm(width, eps=eps)
        self.norm_out = RMSNorm(width, eps=eps)
        self.o = nn.Linear(width, width)
        self.up = nn.Linear(width, dim)

    def forward(self, x: Tensor, z_linear: Tensor | None, rope: tuple[Tensor, Tensor]) -> Tensor:
        """Update for the predicted tokens ``x`` (B, N, dim), given ``z_linear`` (B, Lz, width).

        ``rope`` is (cos, sin), each (Lz + N, head_dim/2), for the fused sequence [z_linear, x].
        """
        reduced = self.down(x)  # (B, N, width)
        fused = reduced if z_linear is None else torch.cat([z_linear.to(reduced.dtype), reduced], 1)
        heads = "b l (n d) -> b n l d"
        q = rearrange(self.norm_q(self.q(reduced)), heads, n=self.num_heads)  # (B, n, N, d)
        k = rearrange(self.norm_k(self.k(fused)), heads, n=self.num_heads)  # (B, n, S, d)
        v = rearrange(self.v(fused), heads, n=self.num_heads).float()  # (B, n, S, d)
        q, k = F.relu(q.float()), F.relu(k.float())  # the kernel feature map phi
        denominator = torch.einsum("bnld,bnd->bnl", q, k.sum(dim=2)) + DENOMINATOR_EPS  # (B, n, N)
        cos, sin = rope
        n = x.shape[1]
        q = apply_rope(q, cos[-n:], sin[-n:])
        k = apply_rope(k, cos, sin)
        kv = torch.einsum("bnsd,bnse->bnde", k, v)  # (B, n, d, d)
        out = torch.einsum("bnld,bnde->bnle", q, kv) / denominator[..., None]  # (B, n, N, d)
        out = rearrange(out, "b n l d -> b l (n d)").to(reduced.dtype)  # (B, N, width)
        return self.up(self.o(self.norm_out(out)))  # (B, N, dim)


def fusion_positions(
    z_positions: Tensor | None, groups: int, chunk_grid: tuple[int, int, int], device=None
) -> Tensor:
    """Positions (Lz + N, 3) of the fused sequence: z_linear's, then the chunk's after them."""
    chunk = grid_positions(groups, *chunk_grid, device=device)  # (N, 3)
    return chunk if z_positions is None else torch.cat([z_positions, chunk])

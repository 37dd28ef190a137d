"""Norms and multi-head attention of the Wan DiT blocks.

Norms compute in float32 and return the input dtype, so a bfloat16 model normalises like a
float32 one. One :class:`Attention` class serves both self-attention (queries, keys and values
from the tokens, 3D RoPE on queries and keys) and cross-attention to the text (keys and
values from the context, no RoPE). Parameter names follow the released checkpoints:
``q``, ``k``, ``v``, ``o`` (with bias) and ``norm_q``, ``norm_k`` (RMSNorm over the full width).
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from yume_gym.model.rope import apply_rope

# On CUDA, scaled_dot_product_attention tries these kernels in this order (the first that
# supports the inputs runs): cuDNN and flash attention, then memory-efficient, then math.
CUDA_ATTENTION_BACKENDS = [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION,
                           SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]


def fast_attention(device: torch.device) -> contextlib.AbstractContextManager:
    """A context that runs attention on ``device`` with the fastest kernels first (CUDA:
    :data:`CUDA_ATTENTION_BACKENDS`; other devices: PyTorch's own choice)."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    return sdpa_kernel(CUDA_ATTENTION_BACKENDS, set_priority=True)


class RMSNorm(nn.RMSNorm):
    """RMSNorm with a learned scale, computed in float32."""

    def forward(self, x: Tensor) -> Tensor:
        weight = None if self.weight is None else self.weight.float()
        return F.rms_norm(x.float(), self.normalized_shape, weight, self.eps).to(x.dtype)


class LayerNorm(nn.LayerNorm):
    """LayerNorm (affine or not), computed in float32."""

    def forward(self, x: Tensor) -> Tensor:
        weight = None if self.weight is None else self.weight.float()
        bias = None if self.bias is None else self.bias.float()
        return F.layer_norm(x.float(), self.normalized_shape, weight, bias, self.eps).to(x.dtype)


class Attention(nn.Module):
    """Multi-head attention with optional RMSNorm on queries and keys (over the full width)."""

    def __init__(self, dim: int, num_heads: int, qk_norm: bool = True, eps: float = 1e-6):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.o = nn.Linear(dim, dim)
        self.norm_q = RMSNorm(dim, eps=eps) if qk_norm else nn.Identity()
        self.norm_k = RMSNorm(dim, eps=eps) if qk_norm else nn.Identity()

    def forward(
        self, x: Tensor, context: Tensor | None = None, rope: tuple[Tensor, Tensor] | None = None
    ) -> Tensor:
        """Attend from ``x`` (B, L, dim) to ``context`` (B, S, dim), or to ``x`` itself.

        ``rope`` is (cos, sin) of shape (L, head_dim/2) each; self-attention only.
        """
        source = x if context is None else context
        heads = "b l (n d) -> b n l d"
        q = rearrange(self.norm_q(self.q(x)), heads, n=self.num_heads)  # (B, n, L, d)
        k = rearrange(self.norm_k(self.k(source)), heads, n=self.num_heads)  # (B, n, S, d)
        v = rearrange(self.v(source), heads, n=self.num_heads)  # (B, n, S, d)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, n, L, d)
        return self.o(rearrange(out, "b n l d -> b l (n d)"))  # (B, L, dim)

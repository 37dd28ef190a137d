"""The Yume-1.5 generator: a Wan2.2 diffusion transformer with TSCM history embeddings.

One forward pass predicts the flow-matching velocity (noise - x0) of the current chunk from
the history latents, the noisy chunk and the text; the network knows no noise schedule. Layer
names match the released Wan2.2 / Yume checkpoints, so loading them is a name-for-name copy.
The data flow, the blocks and their precision: docs/architecture.md.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from yume_gym.model import tscm
from yume_gym.model.attention import Attention, LayerNorm, RMSNorm, fast_attention
from yume_gym.model.channel_branch import ChannelFusion, fusion_positions, patchify_history
from yume_gym.model.config import GeneratorConfig
from yume_gym.model.rope import grid_positions, rope_cos_sin


def float32_forward(module: nn.Module, x: Tensor) -> Tensor:
    """``module(x)`` computed in float32: linear layers use float32 copies of their weights
    (a bfloat16 model's time embedding and head then round as the release's do)."""
    if isinstance(module, nn.Sequential):
        for layer in module:
            x = float32_forward(layer, x)
        return x
    if isinstance(module, nn.Linear):
        bias = None if module.bias is None else module.bias.float()
        return F.linear(x.float(), module.weight.float(), bias)
    return module(x.float())


def sinusoidal_embedding(t: Tensor, dim: int) -> Tensor:
    """(...,) timesteps -> (..., dim) [cos | sin] features at periods 10000^(i/half), float32."""
    half = dim // 2
    freqs = 10000.0 ** (-torch.arange(half, dtype=torch.float64, device=t.device) / half)
    angles = t.to(torch.float64)[..., None] * freqs  # (..., half)
    return torch.cat([angles.cos(), angles.sin()], dim=-1).float()


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs")


class Block(nn.Module):
    """Modulated self-attention, cross-attention, optional channel fusion, modulated FFN."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        dim, eps = cfg.dim, cfg.eps
        self.norm1 = LayerNorm(dim, eps=eps, elementwise_affine=False)
        self.self_attn = Attention(dim, cfg.num_heads, cfg.qk_norm, eps)
        self.norm3 = LayerNorm(dim, eps=eps) if cfg.cross_attn_norm else nn.Identity()
        self.cross_attn = Attention(dim, cfg.num_heads, cfg.qk_norm, eps)
        self.norm2 = LayerNorm(dim, eps=eps, elementwise_affine=False)
        self.ffn = nn.Sequential(nn.Linear(dim, cfg.ffn_dim), nn.GELU(approximate="tanh"),
                                 nn.Linear(cfg.ffn_dim, dim))
        self.modulation = nn.Parameter(torch.empty(1, 6, dim))
        self.channel_fusion = None
        if cfg.channel_branch:
            self.channel_fusion = ChannelFusion(dim, cfg.channel_dim, cfg.channel_heads, eps)

    def forward(self, x: Tensor, e: Tensor, context: Tensor, rope: tuple[Tensor, Tensor],
                fusion: tuple | None = None) -> Tensor:
        """x (B, L, dim) float32; e (B, L, 6, dim) float32; context (B, text_len, dim).

        ``fusion`` = (z_linear, rope of the fused sequence, number of history tokens) or None.
        """
        dtype = self.modulation.dtype
        mod = (self.modulation.float() + e).unbind(2)  # 6 x (B, L, dim)
        shift1, scale1, gate1, shift2, scale2, gate2 = mod
        y = self.self_attn((self.norm1(x) * (1 + scale1) + shift1).to(dtype), rope=rope)
        x = x + y.float() * gate1
        x = x + self.cross_attn(self.norm3(x).to(dtype), context).float()
        if fusion is not None and self.channel_fusion is not None:
            z_linear, fusion_rope, n_hist = fusion
            update = self.channel_fusion(x[:, n_hist:].to(dtype), z_linear, fusion_rope)
            x = torch.cat([x[:, :n_hist], x[:, n_hist:] + update.float()], dim=1)
        y = self.ffn((self.norm2(x) * (1 + scale2) + shift2).to(dtype))
        return x + y.float() * gate2


class Head(nn.Module):
    """Modulated LayerNorm and a linear map to one patch of output latents per token."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.norm = LayerNorm(cfg.dim, eps=cfg.eps, elementwise_affine=False)
        self.head = nn.Linear(cfg.dim, cfg.out_dim * math.prod(cfg.patch_size))
        self.modulation = nn.Parameter(torch.empty(1, 2, cfg.dim))

    def forward(self, x: Tensor, e: Tensor) -> Tensor:
        """x (B, N, dim) float32, e (B, 1 or N, dim) float32 -> (B, N, out_dim * prod(patch))."""
        shift, scale = (self.modulation.float() + e.unsqueeze(2)).unbind(2)  # (B, ., dim)
        return float32_forward(self.head, self.norm(x) * (1 + scale) + shift)  # float32


@dataclasses.dataclass(frozen=True)
class Conditioning:
    """A forward pass's inputs that do not depend on the noisy chunk (:meth:`YumeDiT.condition`).

    ``chunk_shape`` (B, C, F, H, W) of the chunks it serves; ``text`` (B, text_len, dim);
    ``history_tokens`` (B, Lh, dim) float32 or None; ``rope`` for history + chunk tokens;
    ``fusion`` the channel-branch inputs or None; ``grid`` the chunk's token grid (f, h, w).
    """

    chunk_shape: tuple[int, ...]
    text: Tensor
    history_tokens: Tensor | None
    rope: tuple[Tensor, Tensor]
    fusion: tuple | None
    grid: tuple[int, int, int]

    @property
    def num_history_tokens(self) -> int:
        return 0 if self.history_tokens is None else self.history_tokens.shape[1]

    def check_chunk(self, x: Tensor, timestep: Tensor) -> Tensor:
        """``timestep`` as (B,) float; a ValueError unless ``x`` has the shape conditioned for."""
        if not isinstance(x, Tensor) or tuple(x.shape) != self.chunk_shape:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x has shape {got}; this conditioning was made for chunks of {self.chunk_shape}")
        timestep = torch.as_tensor(timestep, device=x.device)
        if timestep.ndim == 0:
            timestep = timestep.expand(x.shape[0])
        if timestep.shape != (x.shape[0],):
            raise ValueError(f"timestep must have shape (B,) = ({x.shape[0]},); got {tuple(timestep.shape)}")
        return timestep.float()


class YumeDiT(nn.Module):
    """The generator network; see the module docstring. Build it with ``build_generator``."""

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = c = config
        self.patch_embedding = nn.Conv3d(c.in_dim, c.dim, c.patch_size, stride=c.patch_size)
        self.text_embedding = nn.Sequential(nn.Linear(c.text_dim, c.dim),
                                            nn.GELU(approximate="tanh"), nn.Linear(c.dim, c.dim))
        self.time_embedding = nn.Sequential(nn.Linear(c.freq_dim, c.dim), nn.SiLU(),
                                            nn.Linear(c.dim, c.dim))
        self.time_projection = nn.Sequential(nn.SiLU(), nn.Linear(c.dim, 6 * c.dim))
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.num_layers))
        self.head = Head(c)
        self._block_calls: list = list(self.blocks)  # compiled wrappers after compile_blocks
        self.compile_mode: str | None = None
        self.quantization: str | None = None  # set by yume_gym.model.quantize.quantize_blocks
        for name, conv in tscm.coarse_embeddings(c.in_dim, c.dim, c.patch_size).items():
            self.add_module(name, conv)
        if c.channel_branch:
            self.patch_embedding_channel = nn.Conv3d(c.in_dim, c.channel_dim, c.channel_patch,
                                                     stride=c.channel_patch)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self) -> None:
        """Fresh weights, as Wan initialises them; coarse history embeddings from the chunk's."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.Conv3d, LayerNorm, RMSNorm)):
                m.reset_parameters()
        nn.init.xavier_uniform_(self.patch_embedding.weight.flatten(1))
        for m in [*self.text_embedding, *self.time_embedding]:
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
        for block in self.blocks:
            nn.init.normal_(block.modulation, std=self.config.dim**-0.5)
            if block.channel_fusion is not None:
                nn.init.zeros_(block.channel_fusion.up.weight)
        nn.init.normal_(self.head.modulation, std=self.config.dim**-0.5)
        nn.init.zeros_(self.head.head.weight)
        tscm.init_coarse(self)

    def configure(self, history_mode: str | None = None,
                  channel_branch_active: bool | None = None) -> None:
        """Change run-time settings (no parameter changes): history mode, channel branch on/off."""
        changes = {"history_mode": history_mode, "channel_branch_active": channel_branch_active}
        self.config = dataclasses.replace(
            self.config, **{k: v for k, v in changes.items() if v is not None})

    def compile_blocks(self, mode: str | None) -> None:
        """Run each transformer block through ``torch.compile(block, mode=mode)`` (regional
        compilation: one block's graph, reused by all of them); None runs them eagerly.

        ``mode`` is one of :data:`COMPILE_MODES`; "reduce-overhead" also captures CUDA graphs,
        so it needs the generator on a CUDA device. Weights and state dict are unchanged.
        """
        if mode is not None and mode not in COMPILE_MODES:
            raise ValueError(f"compile={mode!r} is not a torch.compile mode here; use None or one of {list(COMPILE_MODES)}")
        device = self.patch_embedding.weight.device
        if mode == "reduce-overhead" and device.type != "cuda":
            raise ValueError(f"compile='reduce-overhead' captures CUDA graphs; this generator is on {device}: "
                             "use compile='default' or move the model to a CUDA device")
        if mode == self.compile_mode:
            return
        self._block_calls = list(self.blocks) if mode is None else [torch.compile(b, mode=mode) for b in self.blocks]
        self.compile_mode = mode

    def history_token_count(self, num_history: int, latent_hw: tuple[int, int]) -> int:
        """Tokens that the history embedding makes for ``num_history`` latents of ``latent_hw``."""
        c = self.config
        return tscm.history_token_count(num_history, tuple(latent_hw), c.patch_size[1:],
                                        c.history_mode)

    def forward(self, x: Tensor, timestep: Tensor, context: Tensor | None = None,
                history: Tensor | None = None, conditioning: Conditioning | None = None) -> Tensor:
        """Velocity (noise - x0) of the chunk.

        x: (B, in_dim, F, H, W) noisy chunk latents; timestep: (B,) in 0..1000 (1000 = noise),
        for the chunk's tokens (history tokens get 0); context: (B, L, text_dim), L <= text_len;
        history: (B, in_dim, Hh, H, W) clean past latents, oldest first, or None.
        Instead of context and history, pass ``conditioning`` from :meth:`condition` to reuse
        their embeddings over the sampler steps of one chunk (the same result, less work).
        Returns (B, out_dim, F, H, W) in the dtype of ``x``.
        """
        if conditioning is None:
            conditioning = self.condition(x, context, history)
        elif context is not None or history is not None:
            raise ValueError("pass either context and history, or conditioning, not both")
        timestep = conditioning.check_chunk(x, timestep)
        c, dtype = self.config, self.patch_embedding.weight.dtype
        chunk_tokens = rearrange(self.patch_embedding(x.to(dtype)), "b d f h w -> b (f h w) d").float()
        stream, n_hist = chunk_tokens, conditioning.num_history_tokens
        if n_hist:
            stream = torch.cat([conditioning.history_tokens, chunk_tokens], dim=1)  # (B, L, dim)
        e_chunk, e0 = self._time_modulation(timestep, n_hist, chunk_tokens.shape[1])
        if self.compile_mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()  # each forward replays the graphs anew
        with fast_attention(x.device):
            for block in self._block_calls:
                stream = block(stream, e0, conditioning.text, conditioning.rope, conditioning.fusion)  # (B, L, dim)

        out = self.head(stream[:, n_hist:], e_chunk)  # (B, N, out_dim * pt*ph*pw)
        (f, h, w), (pt, ph, pw) = conditioning.grid, c.patch_size
        velocity = rearrange(out, "b (f h w) (pf ph pw c) -> b c (f pf) (h ph) (w pw)",
                             f=f, h=h, w=w, pf=pt, ph=ph, pw=pw)  # (B, out_dim, F, H, W)
        return velocity.to(x.dtype)

    def condition(self, x: Tensor, context: Tensor, history: Tensor | None = None) -> Conditioning:
        """Embed what stays fixed while chunks shaped like ``x`` are denoised: the text, the TSCM
        history tokens, the RoPE tables and the channel-branch inputs (see :meth:`forward`)."""
        _, history = self._check_inputs(x, torch.zeros(x.shape[0], device=x.device), context, history)
        c, dtype = self.config, self.patch_embedding.weight.dtype
        _, ph, pw = c.patch_size
        grid = (x.shape[2], x.shape[3] // ph, x.shape[4] // pw)
        text = F.pad(context.to(dtype), (0, 0, 0, c.text_len - context.shape[1]))  # zero-padded
        text = self.text_embedding(text)  # (B, text_len, dim)
        hist_tokens, n_hist, hist_len = None, 0, 0
        positions = grid_positions(0, *grid, device=x.device)
        if history is not None:
            history = tscm.keep_history(history.to(dtype))  # (B, C, <= MAX_HISTORY, H, W)
            hist_tokens, hist_positions = tscm.embed_history(self, history, c.history_mode)
            hist_tokens, n_hist, hist_len = hist_tokens.float(), hist_tokens.shape[1], history.shape[2]
            positions = torch.cat([hist_positions, grid_positions(hist_len, *grid, device=x.device)])
        rope = rope_cos_sin(positions, c.head_dim, c.rope_theta)
        fusion = self._fusion_inputs(history, grid, n_hist)
        return Conditioning(tuple(x.shape), text, hist_tokens, rope, fusion, grid)

    def _time_modulation(self, timestep: Tensor, n_hist: int,
                         n_chunk: int) -> tuple[Tensor, Tensor]:
        """Head input (B, 1, dim) for the chunk and per-token block input (B, L, 6, dim), float32.

        Only two timesteps occur per row (0 for history, t for the chunk), so the MLPs run on
        those and the result is repeated per token.
        """
        t = timestep[:, None]  # (B, 1)
        if n_hist:
            t = torch.cat([torch.zeros_like(t), t], dim=1)  # (B, 2)
        features = sinusoidal_embedding(t, self.config.freq_dim)  # (B, S, freq_dim) float32
        e = float32_forward(self.time_embedding, features)  # (B, S, dim)
        e0 = float32_forward(self.time_projection, e).unflatten(2, (6, self.config.dim))  # (B, S, 6, dim)
        counts = torch.tensor([n_hist, n_chunk] if n_hist else [n_chunk], device=e0.device)
        return e[:, -1:], e0.repeat_interleave(counts, dim=1)

    def _fusion_inputs(self, history: Tensor | None, grid: tuple, n_hist: int) -> tuple | None:
        """(z_linear, rope of the fused sequence, n_hist) for the channel branch; None when off."""
        c = self.config
        if not (c.channel_branch and c.channel_branch_active):
            return None
        z_linear, z_positions, groups = None, None, 0
        if history is not None:
            z_linear, z_positions, groups = patchify_history(self.patch_embedding_channel, history)
        positions = fusion_positions(z_positions, groups, grid,
                                     device=self.patch_embedding.weight.device)
        rope = rope_cos_sin(positions, c.channel_dim // c.channel_heads, c.rope_theta)
        return z_linear, rope, n_hist

    def _check_inputs(self, x, timestep, context, history) -> tuple[Tensor, Tensor | None]:
        """(timestep as (B,) float, history or None); a ValueError naming the expected value
        for any malformed input."""
        c = self.config
        if not isinstance(x, Tensor) or x.ndim != 5:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be a (B, C, F, H, W) tensor with C = in_dim = {c.in_dim}; "
                             f"got {got}")
        b, ch, f, h, w = x.shape
        if ch != c.in_dim:
            raise ValueError(f"x has {ch} latent channels; "
                             f"this generator expects in_dim = {c.in_dim}")
        _, ph, pw = c.patch_size
        if f < 1 or h < 1 or w < 1 or h % ph or w % pw:
            raise ValueError(f"x latent grid (F, H, W) = {(f, h, w)} must have F >= 1 and H, W "
                             f"positive multiples of the patch size {(ph, pw)}")
        timestep = torch.as_tensor(timestep, device=x.device)
        if timestep.ndim == 0:
            timestep = timestep.expand(b)
        if timestep.shape != (b,):
            raise ValueError(f"timestep must have shape (B,) = ({b},); got {tuple(timestep.shape)}")
        if not isinstance(context, Tensor) or context.ndim != 3 or context.shape[0] != b:
            got = tuple(context.shape) if isinstance(context, Tensor) else type(context).__name__
            raise ValueError(f"context must be a (B={b}, L, text_dim={c.text_dim}) tensor; "
                             f"got {got}")
        if context.shape[2] != c.text_dim:
            raise ValueError(f"context width is {context.shape[2]}; "
                             f"this generator expects text_dim = {c.text_dim}")
        if context.shape[1] > c.text_len:
            raise ValueError(f"context has {context.shape[1]} tokens; at most text_len = "
                             f"{c.text_len} (trim the text embeddings)")
        if history is None:
            return timestep.float(), None
        if not isinstance(history, Tensor) or history.ndim != 5 or (
                history.shape[:2] + history.shape[3:]) != (b, c.in_dim, h, w):
            got = tuple(history.shape) if isinstance(history, Tensor) else type(history).__name__
            raise ValueError(f"history must be (B, C, Hh, H, W) = {(b, c.in_dim, 'Hh', h, w)} "
                             f"to match x; got {got}")
        return timestep.float(), (history if history.shape[2] > 0 else None)

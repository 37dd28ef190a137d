"""The small video codec of the embedded model: a deterministic convolutional autoencoder.

It has the interface of the Wan2.2 VAE wrapper (normalised latents, ``encode``/``decode``), so
the world code cannot tell them apart. Its design (ours, not Wan's): docs/architecture.md.

>>> config = CodecConfig(image_size=32, spatial_stride=4, base_channels=8, max_channels=16)
>>> codec = build_codec(config)
>>> codec.encode(torch.zeros(1, 3, 2, 32, 32)).shape
torch.Size([1, 16, 2, 8, 8])
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from yume_gym.model.limits import CODEC_LIMITS, check_limits
from yume_gym.model.weights_file import (
    build_module,
    load_module,
    save_weights,
)

CODEC_KIND = "yume_gym.codec"
_GROUPS = 8
_MIN_STD = 1e-5


@dataclasses.dataclass
class CodecConfig:
    """Shape and size of a :class:`LatentCodec`.

    ``spatial_stride`` must be a power of two (8 gives 8x8 latents at 64x64);
    ``temporal_stride`` is 1 (frame by frame) or more (frames go in as 1 + stride*k).
    Stage i of the encoder has ``min(base_channels * 2**i, max_channels)`` channels.
    ``latent_mean`` / ``latent_std`` normalise raw latents per channel; None means 0 / 1.
    """

    image_size: int = 64
    latent_channels: int = 16
    spatial_stride: int = 8
    temporal_stride: int = 1
    base_channels: int = 32
    max_channels: int = 128
    latent_mean: list[float] | None = None
    latent_std: list[float] | None = None

    def __post_init__(self) -> None:
        check_limits("CodecConfig", dataclasses.asdict(self), CODEC_LIMITS)
        s = self.spatial_stride
        if s < 2 or s & (s - 1):
            raise ValueError(f"spatial_stride {s!r} must be a power of two >= 2 (e.g. 4 or 8)")
        if self.temporal_stride < 1:
            raise ValueError(f"temporal_stride {self.temporal_stride!r} must be >= 1")
        if self.image_size % s:
            raise ValueError(
                f"image_size {self.image_size} must be divisible by spatial_stride {s}"
            )
        for name in ("base_channels", "max_channels"):
            value = getattr(self, name)
            if value < _GROUPS or value % _GROUPS:
                raise ValueError(f"{name} {value!r} must be a positive multiple of {_GROUPS}")
        if self.latent_channels < 1:
            raise ValueError(f"latent_channels {self.latent_channels!r} must be >= 1")
        c = self.latent_channels
        self.latent_mean = (
            [0.0] * c if self.latent_mean is None else [float(v) for v in self.latent_mean]
        )
        self.latent_std = (
            [1.0] * c if self.latent_std is None else [float(v) for v in self.latent_std]
        )
        if len(self.latent_mean) != c or len(self.latent_std) != c:
            raise ValueError(
                f"latent_mean/latent_std need {c} values (one per latent channel), "
                f"got {len(self.latent_mean)} and {len(self.latent_std)}"
            )
        if min(self.latent_std) <= 0:
            raise ValueError(f"latent_std values must be > 0, got {self.latent_std}")

    def stage_channels(self) -> list[int]:
        """Channels at each resolution, full resolution first."""
        levels = int(math.log2(self.spatial_stride)) + 1
        return [min(self.base_channels * 2**i, self.max_channels) for i in range(levels)]


class ResBlock(nn.Module):
    """GroupNorm, SiLU, 3x3 conv, twice, plus the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.GroupNorm(_GROUPS, channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.GroupNorm(_GROUPS, channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def _encoder(cfg: CodecConfig) -> nn.Sequential:
    ch = cfg.stage_channels()
    layers: list[nn.Module] = [nn.Conv2d(3, ch[0], 3, padding=1)]
    for c_in, c_out in zip(ch[:-1], ch[1:], strict=True):
        layers += [ResBlock(c_in), nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)]
    layers += [ResBlock(ch[-1]), nn.GroupNorm(_GROUPS, ch[-1]), nn.SiLU()]
    return nn.Sequential(*layers)


def _decoder(cfg: CodecConfig) -> nn.Sequential:
    ch = cfg.stage_channels()[::-1]
    layers: list[nn.Module] = [ResBlock(ch[0])]
    for c_in, c_out in zip(ch[:-1], ch[1:], strict=True):
        layers += [
            nn.Upsample(scale_factor=2.0, mode="nearest"),
            nn.Conv2d(c_in, c_out, 3, padding=1),
        ]
        layers += [ResBlock(c_out)]
    layers += [nn.GroupNorm(_GROUPS, ch[-1]), nn.SiLU(), nn.Conv2d(ch[-1], 3, 3, padding=1)]
    return nn.Sequential(*layers)


class LatentCodec(nn.Module):
    """A small video autoencoder with the Wan2.2 VAE wrapper's interface (see the module doc)."""

    # Each latent decodes to its frames on its own (no temporal layers in the decoder), so the
    # last frame of a chunk is the last latent's decoding: a caller wanting only it decodes one.
    decodes_latents_separately = True

    def __init__(self, config: CodecConfig) -> None:
        super().__init__()
        self.config = dataclasses.replace(config)  # a copy: fit_normalisation edits it
        top = config.stage_channels()[-1]
        folded = top * config.temporal_stride
        self.encoder = _encoder(config)
        self.to_latent = nn.Conv2d(folded, config.latent_channels, 3, padding=1)
        self.from_latent = nn.Conv2d(config.latent_channels, folded, 3, padding=1)
        self.decoder = _decoder(config)
        shape = (1, config.latent_channels, 1, 1, 1)
        # Derived from the config (the one source of truth), so not stored in the weight file.
        self.register_buffer(
            "latent_mean", torch.tensor(config.latent_mean).view(shape), persistent=False
        )
        self.register_buffer(
            "latent_std", torch.tensor(config.latent_std).view(shape), persistent=False
        )

    @property
    def latent_channels(self) -> int:
        return self.config.latent_channels

    @property
    def spatial_stride(self) -> int:
        return self.config.spatial_stride

    @property
    def temporal_stride(self) -> int:
        return self.config.temporal_stride

    def latent_frames(self, num_frames: int) -> int:
        """Latent frames for ``num_frames`` video frames (1 + (T-1)//s when s > 1)."""
        s = self.temporal_stride
        if num_frames < 1:
            raise ValueError(f"num_frames {num_frames!r} must be >= 1")
        if s == 1:
            return num_frames
        if (num_frames - 1) % s:
            raise ValueError(
                f"{num_frames} frames do not fit temporal_stride {s}: frames go in as 1 + {s}*k "
                f"(e.g. {1 + s * ((num_frames - 1) // s)} or {1 + s * ((num_frames - 1) // s + 1)})"
            )
        return 1 + (num_frames - 1) // s

    def video_frames(self, num_latents: int) -> int:
        """Video frames decoded from ``num_latents`` latent frames (inverse of latent_frames)."""
        if num_latents < 1:
            raise ValueError(f"num_latents {num_latents!r} must be >= 1")
        return 1 + (num_latents - 1) * self.temporal_stride

    def encode_raw(self, video: torch.Tensor) -> torch.Tensor:
        """Un-normalised latents of ``video`` (B, 3, T, H, W) -> (B, C, T', H/s, W/s)."""
        video = self._check(video, "video", 3)
        b, _, t, h, w = video.shape
        if h % self.spatial_stride or w % self.spatial_stride:
            raise ValueError(
                f"video size {h}x{w} must be divisible by spatial_stride {self.spatial_stride}; "
                f"resize or crop the frames"
            )
        s = self.temporal_stride
        t_lat = self.latent_frames(t)
        frames = rearrange(video, "b c t h w -> (b t) c h w")
        feats = rearrange(self.encoder(frames), "(b t) c h w -> b c t h w", b=b)  # (B, C', T, h, w)
        if s > 1:  # causal grouping: pad with copies of frame 0 so groups are [0]*s, [1..s], ...
            first = repeat(feats[:, :, :1], "b c 1 h w -> b c r h w", r=s - 1)  # (B, C', s-1, h, w)
            feats = torch.cat([first, feats], dim=2)  # (B, C', T+s-1, h, w)
        grouped = rearrange(feats, "b c (n s) h w -> (b n) (s c) h w", s=s)  # (B*T', s*C', h, w)
        latents = self.to_latent(grouped)  # (B*T', C, h, w)
        return rearrange(latents, "(b n) c h w -> b c n h w", n=t_lat)

    def decode_raw(self, latents: torch.Tensor) -> torch.Tensor:
        """Video from un-normalised latents, unclamped: (B, C, T', h, w) -> (B, 3, T, H, W)."""
        latents = self._check(latents, "latents", self.latent_channels)
        b, s = latents.shape[0], self.temporal_stride
        flat = rearrange(latents, "b c n h w -> (b n) c h w")  # (B*T', C, h, w)
        grouped = self.from_latent(flat)  # (B*T', s*C', h, w)
        feats = rearrange(grouped, "bn (s c) h w -> (bn s) c h w", s=s)  # (B*T'*s, C', h, w)
        frames = self.decoder(feats)  # (B*T'*s, 3, H, W)
        frames = rearrange(frames, "(b t) c h w -> b c t h w", b=b)  # (B, 3, T'*s, H, W)
        return frames[:, :, s - 1 :]  # drop the s-1 padding frames before frame 0

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """Normalised latents (B, C, T', H/s, W/s) of ``video`` (B, 3, T, H, W) in [-1, 1]."""
        return (self.encode_raw(video) - self.latent_mean) / self.latent_std

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Video (B, 3, T, H, W) clamped to [-1, 1] from normalised latents (B, C, T', h, w)."""
        latents = self._check(latents, "latents", self.latent_channels)
        return self.decode_raw(latents * self.latent_std + self.latent_mean).clamp(-1.0, 1.0)

    @torch.no_grad()
    def fit_normalisation(self, video: torch.Tensor) -> None:
        """Set the per-channel latent mean/std (config and buffers) from raw latents of a batch."""
        raw = self.encode_raw(video).float()  # (B, C, T', h, w)
        mean = raw.mean(dim=(0, 2, 3, 4))
        std = raw.std(dim=(0, 2, 3, 4)).nan_to_num(1.0).clamp_min(_MIN_STD)
        self.config.latent_mean = mean.tolist()
        self.config.latent_std = std.tolist()
        shape = self.latent_mean.shape
        self.latent_mean.copy_(mean.view(shape))
        self.latent_std.copy_(std.view(shape))

    def _check(self, x: torch.Tensor, name: str, channels: int) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 5 or x.shape[1] != channels:
            raise ValueError(
                f"{name} must have shape (B, {channels}, T, H, W), got {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise TypeError(
                f"{name} must be a float tensor, got {x.dtype}; map e.g. uint8 frames to [-1, 1]"
            )
        if x.shape[2] < 1 or x.shape[3] < 1 or x.shape[4] < 1:
            raise ValueError(f"{name} has an empty dimension: {tuple(x.shape)}")
        return x.to(dtype=self.to_latent.weight.dtype)


def _image_gradients(video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Finite differences of (B, 3, T, H, W) along W and along H."""
    return video[..., :, 1:] - video[..., :, :-1], video[..., 1:, :] - video[..., :-1, :]


def reconstruction_loss(
    codec: LatentCodec, video: torch.Tensor, edge_weight: float = 0.0
) -> torch.Tensor:
    """Reconstruction error of ``video`` through the codec, unclamped (a scalar).

    The mean squared error of the pixels, plus ``edge_weight`` times the mean squared error of
    their horizontal and vertical differences. Mean squared error alone lets a thin object
    (a distant pillar a few pixels wide) blur into the sky and ground behind it at little
    cost; the difference term charges for the edges that blurring removes.
    """
    recon = codec.decode_raw(codec.encode_raw(video)).float()  # (B, 3, T, H, W)
    target = video.to(device=recon.device, dtype=torch.float32)
    loss = F.mse_loss(recon, target)
    if edge_weight:
        pairs = zip(_image_gradients(recon), _image_gradients(target), strict=True)
        loss = loss + edge_weight * sum(F.mse_loss(a, b) for a, b in pairs) / 2
    return loss


def build_codec(
    config: CodecConfig | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> LatentCodec:
    """A freshly initialised codec (default config: 64x64 frames, 16 channels, stride 8)."""
    return build_module(LatentCodec, CodecConfig, config, device, dtype)


def save_codec(codec: LatentCodec, path: str | os.PathLike) -> Path:
    """Save weights and config (normalisation table included) to one file, atomically."""
    return save_weights(codec, path, CODEC_KIND, codec.config)


MAKE_CODEC = "train one with `yume-gym train codec --data data/procworld --out runs/codec` or pass --codec FILE"


def load_codec(
    path: str | os.PathLike,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> LatentCodec:
    """Rebuild a codec from a file written by :func:`save_codec`, loading its weights strictly."""
    return load_module(path, CODEC_KIND, CodecConfig, LatentCodec).eval().to(device=device, dtype=dtype)


def frames_to_video(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (1, 3, N, H, W) float in [-1, 1] (frames as one clip of N)."""
    video = torch.from_numpy(frames).to(device).permute(3, 0, 1, 2)[None]  # (1, 3, N, H, W)
    return video.float() / 127.5 - 1.0


@torch.no_grad()
def round_trip(codec: LatentCodec, frames: np.ndarray, device: torch.device, batch: int = 64) -> np.ndarray:
    """``frames`` (N, H, W, 3) uint8 through encode and decode, as (N, H, W, 3) uint8."""
    out = []
    for i in range(0, len(frames), batch):
        recon = codec.decode(codec.encode(frames_to_video(frames[i : i + batch], device)))  # (1, 3, n, H, W)
        pixels = ((recon[0].permute(1, 2, 3, 0) + 1.0) * 127.5).round().clamp(0, 255)  # (n, H, W, 3)
        out.append(pixels.to(torch.uint8).cpu().numpy())
    return np.concatenate(out)

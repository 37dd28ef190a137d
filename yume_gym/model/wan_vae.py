"""The Wan2.2 VAE of the released model, behind the small codec's interface.

:class:`WanVAE` wraps diffusers' ``AutoencoderKLWan`` and adds normalised ``encode``/``decode``
and a causal stream decoder; :func:`load_wan_vae` reads Wan-native or diffusers checkpoints.
Shapes, precision, checkpoint formats and tiling: docs/architecture.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import torch
from diffusers import AutoencoderKLWan
from diffusers.models.autoencoders.autoencoder_kl_wan import WanCausalConv3d, unpatchify
from torch import nn

from yume_gym.model.limits import WAN_VAE_LIMITS, check_limits
from yume_gym.model.safe_load import (
    check_manifest,
    check_weight_values,
    load_pth,
    load_safetensors,
    safetensors_files,
    save_pth,
    tagged_config,
    tensor_infos,
)
from yume_gym.model.wan_vae_keys import diffusers_to_wan_state, wan_manifest, wan_to_diffusers_state

NATIVE_FILE = "Wan2.2_VAE.pth"
DIFFUSERS_DIR = "vae"
DIFFUSERS_STEM = "diffusion_pytorch_model"

# Per-channel statistics of the Wan2.2 VAE's raw latents (Wan2.2, wan/modules/vae2_2.py).
WAN22_LATENT_MEAN = (
    -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557, -0.1382, 0.0542,
    0.2813, 0.0891, 0.1570, -0.0098, 0.0375, -0.1825, -0.2246, -0.1207, -0.0698, 0.5109,
    0.2665, -0.2108, -0.2158, 0.2502, -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899,
    -0.2799, -0.1230, -0.0313, -0.1649, 0.0117, 0.0723, -0.2839, -0.2083, -0.0520, 0.3748,
    0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667,
)  # fmt: skip
WAN22_LATENT_STD = (
    0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013, 0.8158, 1.0344,
    0.5894, 1.0901, 0.6885, 0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804,
    0.5833, 1.4146, 0.8986, 0.5659, 0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999,
    0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944, 0.5726, 1.2042, 0.5458, 1.6887,
    0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744,
)  # fmt: skip


def wan22_vae_config(**overrides: Any) -> dict[str, Any]:
    """The ``AutoencoderKLWan`` config of the Wan2.2 VAE; ``overrides`` replace fields (tests
    build small models of the same architecture this way)."""
    config = dict(
        base_dim=160, decoder_base_dim=256, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
        attn_scales=[], temperal_downsample=[False, True, True], dropout=0.0, is_residual=True,
        in_channels=12, out_channels=12, patch_size=2, scale_factor_spatial=16,
        scale_factor_temporal=4, latents_mean=list(WAN22_LATENT_MEAN),
        latents_std=list(WAN22_LATENT_STD),
    )  # fmt: skip
    unknown = sorted(set(overrides) - set(config))
    if unknown:
        raise ValueError(f"unknown AutoencoderKLWan field(s) {unknown}; known: {sorted(config)}")
    config.update(overrides)
    return config


class WanVAE(nn.Module):
    """Wan2.2 VAE with the codec interface (see the module doc). ``vae`` is the diffusers model."""

    decodes_latents_separately = False  # causal temporal convolutions: a frame needs the latents before it

    def __init__(self, vae: AutoencoderKLWan, tiling: bool = False) -> None:
        super().__init__()
        if not isinstance(vae, AutoencoderKLWan):
            raise TypeError(f"vae must be a diffusers AutoencoderKLWan, got {type(vae).__name__}")
        cfg = vae.config
        mean, std = list(cfg.latents_mean), list(cfg.latents_std)
        if len(mean) != cfg.z_dim or len(std) != cfg.z_dim or min(std) <= 0:
            raise ValueError(
                f"the VAE config needs {cfg.z_dim} latents_mean and positive latents_std "
                f"values (one per latent channel), got {len(mean)} and {len(std)}"
            )
        self.vae = vae.eval().requires_grad_(False)
        self._mean, self._std = tuple(mean), tuple(std)  # kept in float64, whatever the weights
        self.set_tiling(tiling)

    @property
    def latent_channels(self) -> int:
        return self.vae.config.z_dim

    @property
    def video_channels(self) -> int:
        """Channels of a video frame (3; the 2x2 patchify is internal)."""
        return self.vae.config.out_channels // (self.vae.config.patch_size or 1) ** 2

    @property
    def spatial_stride(self) -> int:
        cfg = self.vae.config
        return (cfg.patch_size or 1) * 2 ** (len(cfg.dim_mult) - 1)

    @property
    def temporal_stride(self) -> int:
        return 2 ** sum(bool(t) for t in self.vae.config.temperal_downsample)

    def latent_frames(self, num_frames: int) -> int:
        """Latent frames for ``num_frames`` video frames: 1 + (T - 1) / 4, T = 1 + 4k."""
        s = self.temporal_stride
        if num_frames < 1 or (num_frames - 1) % s:
            k = max(0, (num_frames - 1) // s)
            raise ValueError(
                f"{num_frames} frames do not fit the VAE: frames go in as 1 + {s}*k "
                f"(e.g. {1 + s * k} or {1 + s * (k + 1)})"
            )
        return 1 + (num_frames - 1) // s

    def video_frames(self, num_latents: int) -> int:
        """Video frames decoded from ``num_latents`` latent frames (inverse of latent_frames)."""
        if num_latents < 1:
            raise ValueError(f"num_latents {num_latents!r} must be >= 1")
        return 1 + (num_latents - 1) * self.temporal_stride

    def set_tiling(self, enabled: bool, tile_size: int = 256, tile_stride: int = 192) -> None:
        """Encode/decode in ``tile_size`` pixel tiles every ``tile_stride`` pixels (blended)."""
        if enabled:
            if not 0 < tile_stride < tile_size or tile_size % self.spatial_stride:
                raise ValueError(
                    f"need 0 < tile_stride ({tile_stride}) < tile_size ({tile_size}) and "
                    f"tile_size a multiple of {self.spatial_stride}"
                )
            self.vae.enable_tiling(tile_size, tile_size, tile_stride, tile_stride)
        else:
            self.vae.disable_tiling()

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """Normalised float32 latents (B, 48, T', H/16, W/16) of ``video`` (B, 3, T, H, W)."""
        video = self._check(video, "video", self.video_channels)
        _, _, t, h, w = video.shape
        self.latent_frames(t)
        if h % self.spatial_stride or w % self.spatial_stride:
            raise ValueError(
                f"video size {h}x{w} must be divisible by {self.spatial_stride}; resize or crop"
            )
        raw = self.vae.encode(video).latent_dist.mode()  # (B, 48, T', h, w)
        mean, std = self._stats(raw.device)
        return (raw.float() - mean) / std

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Video (B, 3, T, H, W) in [-1, 1] from normalised latents (B, 48, T', h, w)."""
        latents = self._check(latents, "latents", self.latent_channels)
        return self.vae.decode(self._denormalise(latents)).sample  # (B, 3, T, H, W)

    def stream_decoder(self) -> StreamDecoder:
        """A decoder for consecutive latent chunks of one video (see :class:`StreamDecoder`)."""
        return StreamDecoder(self)

    def _stats(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent mean and std, float32, shaped (1, 48, 1, 1, 1) for broadcasting."""
        shape = (1, len(self._mean), 1, 1, 1)
        mean = torch.tensor(self._mean, dtype=torch.float32, device=device).view(shape)
        return mean, torch.tensor(self._std, dtype=torch.float32, device=device).view(shape)

    def _denormalise(self, latents: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(latents.device)
        return (latents.float() * std + mean).to(self.vae.dtype)  # (B, 48, T', h, w)

    def _check(self, x: torch.Tensor, name: str, channels: int) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 5 or x.shape[1] != channels or min(x.shape) < 1:
            raise ValueError(
                f"{name} must have shape (B, {channels}, T, H, W), got {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a float tensor, got {x.dtype}; map frames to [-1, 1]")
        return x.to(device=self.vae.device, dtype=self.vae.dtype)


class StreamDecoder:
    """Decodes the latent chunks of one video in order, carrying the causal cache between calls.

    The first call returns ``1 + 4 (n - 1)`` frames for ``n`` latents, every later call
    ``4 n`` frames; the concatenation equals the one-shot :meth:`WanVAE.decode` of all the
    latents. Use one decoder per video (or per batch of videos decoded together).
    """

    def __init__(self, vae: WanVAE) -> None:
        self._vae = vae
        decoder = vae.vae.decoder
        convs = sum(isinstance(m, WanCausalConv3d) for m in decoder.modules())
        self._cache: list[Any] = [None] * convs  # per causal conv: its last input frames
        self._first = True

    @property
    def cache_bytes(self) -> int:
        """Bytes of the causal cache carried to the next chunk."""
        tensors = [c for c in self._cache if isinstance(c, torch.Tensor)]
        return sum(c.untyped_storage().nbytes() for c in tensors)

    @torch.no_grad()
    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        """Frames (B, 3, T, H, W) in [-1, 1] of the next chunk of normalised latents."""
        vae = self._vae
        latents = vae._check(latents, "latents", vae.latent_channels)
        x = vae.vae.post_quant_conv(vae._denormalise(latents))  # (B, 48, n, h, w)
        frames = []
        for i in range(x.shape[2]):
            frames.append(vae.vae.decoder(x[:, :, i : i + 1], feat_cache=self._cache,
                                          feat_idx=[0], first_chunk=self._first))
            self._first = False
        out = torch.cat(frames, dim=2)  # (B, 12, T, H/2, W/2) before the 2x2 unpatchify
        patch = vae.vae.config.patch_size
        if patch is not None:
            out = unpatchify(out, patch_size=patch)
        return out.clamp(-1.0, 1.0)


class VaeSource(NamedTuple):
    """Where a VAE's weights are: ``kind`` "native" (one .pth) or "diffusers" (a folder)."""

    kind: str
    files: list[Path]
    config: dict[str, Any]


def find_vae(path: str | os.PathLike) -> VaeSource:
    """Locate the VAE in a checkpoint directory, a ``vae/`` folder or a ``.pth`` file."""
    path = Path(path)
    if path.is_file() and path.suffix == ".pth":
        return VaeSource("native", [path], wan22_vae_config())
    if (path / NATIVE_FILE).is_file():
        return VaeSource("native", [path / NATIVE_FILE], wan22_vae_config())
    for folder in (path / DIFFUSERS_DIR, path):
        config = _diffusers_config(folder)
        if config is not None:
            return VaeSource("diffusers", safetensors_files(folder, DIFFUSERS_STEM), config)
    raise FileNotFoundError(
        f"no VAE at {str(path)!r}: expected {NATIVE_FILE} or a {DIFFUSERS_DIR}/ folder with "
        f"config.json and {DIFFUSERS_STEM}.safetensors"
    )


def _diffusers_config(folder: Path) -> dict[str, Any] | None:
    """The AutoencoderKLWan config in ``folder``/config.json, or None if it holds none."""
    data = tagged_config(folder, "_class_name", "AutoencoderKLWan")
    if data is None:
        return None
    sizes = {k: len(v) if k == "dim_mult" and isinstance(v, list) else v for k, v in data.items()}
    check_limits(f"VAE config {str(folder / 'config.json')!r}", sizes, WAN_VAE_LIMITS)
    return {k: v for k, v in data.items() if not k.startswith("_")}


def meta_vae(config: dict[str, Any]) -> AutoencoderKLWan:
    """An ``AutoencoderKLWan`` of ``config`` on the meta device (structure, no memory)."""
    with torch.device("meta"):
        return AutoencoderKLWan.from_config(config)


def expected_manifest(source: VaeSource) -> dict[str, tuple[int, ...]]:
    """Names and shapes the files of ``source`` must hold, in the files' own naming."""
    vae = meta_vae(source.config)
    if source.kind == "native":
        return wan_manifest(vae)
    return {name: tuple(t.shape) for name, t in vae.state_dict().items()}


def build_wan_vae(config: dict[str, Any] | None = None, device: torch.device | str | None = None,
                  dtype: torch.dtype | None = None, tiling: bool = False) -> WanVAE:
    """A randomly initialised VAE (default: the Wan2.2 config). Seed torch for repeatability."""
    vae = AutoencoderKLWan.from_config(config or wan22_vae_config())
    return WanVAE(vae, tiling=tiling).to(device=device, dtype=dtype)


def load_wan_vae(path: str | os.PathLike, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None, tiling: bool = False,
                 config: dict[str, Any] | None = None) -> WanVAE:
    """Load the VAE strictly from a checkpoint directory, a ``vae/`` folder or a ``.pth``.

    ``dtype=None`` keeps the stored dtype. ``config`` replaces the Wan2.2 configuration for a
    Wan-native file (small test models); diffusers folders carry their own.
    """
    source = find_vae(path)
    if config is not None and source.kind == "native":
        source = source._replace(config=config)
    vae = meta_vae(source.config)
    if source.kind == "native":
        tensors = load_pth(source.files[0])
        check_manifest(tensor_infos(tensors), wan_manifest(vae), str(source.files[0]))
        tensors = wan_to_diffusers_state(tensors, vae)
    else:
        tensors = {}
        for file in source.files:
            tensors.update(load_safetensors(file))
        expected = {n: tuple(t.shape) for n, t in vae.state_dict().items()}
        check_manifest(tensor_infos(tensors), expected, str(source.files[0].parent))
    return _assign(vae, tensors, device, dtype, tiling)


def _assign(vae: AutoencoderKLWan, tensors: dict[str, torch.Tensor],
            device: torch.device | str | None, dtype: torch.dtype | None, tiling: bool) -> WanVAE:
    check_weight_values(tensors, "the Wan VAE weights")
    if dtype is None:
        dtype = next(iter(tensors.values())).dtype
    device = torch.device(device) if device is not None else torch.device("cpu")
    state = {name: t.to(device=device, dtype=dtype) for name, t in tensors.items()}
    vae.load_state_dict(state, strict=True, assign=True)
    return WanVAE(vae, tiling=tiling)


def save_wan_vae(vae: WanVAE, path: str | os.PathLike) -> Path:
    """Write ``vae``'s weights as a Wan-native ``.pth`` (Wan module names), atomically."""
    path = Path(path)
    if path.suffix != ".pth":
        raise ValueError(f"Wan-native VAE file {str(path)!r} must end in .pth")
    state = diffusers_to_wan_state(vae.vae)
    return save_pth({k: t.detach().to("cpu").contiguous() for k, t in state.items()}, path)


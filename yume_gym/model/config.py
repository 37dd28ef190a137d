"""The generator's configuration and its named presets.

:class:`GeneratorConfig` holds the Wan DiT fields under their Wan names (so a released
``config.json`` maps onto it one to one) plus the Yume-specific settings: how history is
embedded (TSCM or uncompressed) and the paper's channel branch. Presets are data: a dict of
configs, one entry per model size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from yume_gym.model.limits import GENERATOR_LIMITS, MAX_GENERATOR_PARAMETERS, check_limits, generator_parameters

HISTORY_MODES = ("tscm", "full")


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything needed to build a :class:`~yume_gym.model.dit.YumeDiT`.

    Wan fields (names as in the released ``config.json``): ``patch_size`` (t, h, w) of the
    chunk's patch embedding; ``text_len`` text tokens (context is zero-padded to it);
    ``in_dim``/``out_dim`` latent channels in and out; ``dim`` width; ``ffn_dim`` FFN width;
    ``freq_dim`` sinusoidal timestep width; ``text_dim`` text-encoder width; ``num_heads``;
    ``num_layers``; ``qk_norm`` (RMSNorm on queries and keys); ``cross_attn_norm`` (affine
    LayerNorm before cross-attention); ``eps`` of every norm.

    Yume fields: ``history_mode`` is ``"tscm"`` (distance-dependent compression, as released)
    or ``"full"`` (every history latent at the chunk's patch size; for comparisons).
    ``channel_branch`` adds the paper's channel-compressed history branch (section 4.2.2) of
    width ``channel_dim`` with ``channel_heads`` linear-attention heads over a
    ``channel_patch`` patchify of the history; it adds parameters, so it is off for the
    released layout. ``channel_branch_active`` switches a built branch off at run time
    (weights kept), for measuring what it adds. ``rope_theta`` is the RoPE base.

    Defaults are the released Wan2.2-TI2V-5B / Yume-5B values.
    """

    patch_size: tuple[int, int, int] = (1, 2, 2)
    text_len: int = 512
    in_dim: int = 48
    dim: int = 3072
    ffn_dim: int = 14336
    freq_dim: int = 256
    text_dim: int = 4096
    out_dim: int = 48
    num_heads: int = 24
    num_layers: int = 30
    qk_norm: bool = True
    cross_attn_norm: bool = True
    eps: float = 1e-6
    history_mode: str = "tscm"
    channel_branch: bool = False
    channel_dim: int = 96
    channel_heads: int = 4
    channel_patch: tuple[int, int, int] = (8, 4, 4)
    channel_branch_active: bool = True
    rope_theta: float = 10000.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "patch_size", tuple(int(p) for p in self.patch_size))
        object.__setattr__(self, "channel_patch", tuple(int(p) for p in self.channel_patch))
        problems = self._problems()
        if problems:
            raise ValueError("invalid GeneratorConfig: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        """A message naming the value for every violated constraint."""
        sizes = ("text_len", "in_dim", "dim", "ffn_dim", "freq_dim", "text_dim", "out_dim",
                 "num_heads", "num_layers", "channel_dim", "channel_heads")
        bad_sizes = [f"{name}={getattr(self, name)!r} must be a positive int" for name in sizes
                     if not isinstance(getattr(self, name), int) or getattr(self, name) < 1]
        if bad_sizes:
            return bad_sizes
        check_limits("GeneratorConfig", dataclasses.asdict(self), GENERATOR_LIMITS)
        weights = generator_parameters(self.dim, self.ffn_dim, self.num_layers, self.text_dim)
        if weights > MAX_GENERATOR_PARAMETERS:
            return [f"dim={self.dim}, ffn_dim={self.ffn_dim}, num_layers={self.num_layers} make about "
                    f"{weights:.2e} weights, above the limit {MAX_GENERATOR_PARAMETERS:.0e} (4x Yume-5B)"]
        heads, channel_heads = self.dim // self.num_heads, self.channel_dim // self.channel_heads
        checks = [
            (len(self.patch_size) == 3 and self.patch_size[0] == 1 and min(self.patch_size) >= 1,
             f"patch_size={self.patch_size} must be (1, h, w) with h, w >= 1 "
             "(TSCM embeds each history latent on its own)"),
            (self.dim % self.num_heads == 0 and heads % 2 == 0,
             f"dim={self.dim} must split into num_heads={self.num_heads} heads of even size"),
            (self.freq_dim % 2 == 0, f"freq_dim={self.freq_dim} must be even"),
            (self.history_mode in HISTORY_MODES,
             f"history_mode={self.history_mode!r} must be one of {HISTORY_MODES}"),
            (self.channel_dim % self.channel_heads == 0 and channel_heads % 2 == 0,
             f"channel_dim={self.channel_dim} must split into "
             f"channel_heads={self.channel_heads} heads of even size"),
            (len(self.channel_patch) == 3 and min(self.channel_patch) >= 1,
             f"channel_patch={self.channel_patch} must be 3 positive ints"),
            (self.eps > 0, f"eps={self.eps!r} must be positive"),
        ]
        return [message for ok, message in checks if not ok]

    @property
    def head_dim(self) -> int:
        return self.dim // self.num_heads

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> GeneratorConfig:
        """Rebuild from :meth:`to_dict` output; unknown field names are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"{source} has unknown GeneratorConfig field(s) {unknown}; "
                f"known fields: {sorted(known)}"
            )
        return cls(**data)


PRESETS: dict[str, GeneratorConfig] = {
    # The released Yume-1.5 generator: Wan2.2-TI2V-5B with TSCM history embeddings.
    "yume-5b": GeneratorConfig(),
    # The embedded model's size: a few million parameters, for 8x8 or 16x16 latent grids
    # (64x64 video through a stride-8 or stride-4 codec), fast on a laptop CPU.
    "tiny": GeneratorConfig(
        patch_size=(1, 2, 2),
        text_len=64,
        in_dim=16,
        dim=128,
        ffn_dim=512,
        freq_dim=64,
        text_dim=64,
        out_dim=16,
        num_heads=4,
        num_layers=4,
        channel_branch=True,
    ),
    # The shared test size: two small layers that build and run in milliseconds.
    "test": GeneratorConfig(
        text_len=16,
        in_dim=4,
        dim=48,
        ffn_dim=96,
        freq_dim=32,
        text_dim=24,
        out_dim=4,
        num_heads=2,
        num_layers=2,
    ),
}


def resolve_config(preset: str | GeneratorConfig) -> GeneratorConfig:
    """The config for a preset name, or ``preset`` itself when it already is a config."""
    if isinstance(preset, GeneratorConfig):
        return preset
    if isinstance(preset, str) and preset in PRESETS:
        return PRESETS[preset]
    raise ValueError(
        f"unknown generator preset {preset!r}; choose one of {sorted(PRESETS)} "
        "or pass a GeneratorConfig"
    )

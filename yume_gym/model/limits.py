"""Upper bounds on the sizes a config file may ask for, checked before anything is allocated.

Each bound is a multiple (4x unless noted) of the largest released size of that field (the
Yume-5B generator, umt5-xxl, the Wan2.2 VAE), so every real model fits and a file asking for
a billion-wide layer is refused with an error that names the field, instead of running out
of memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The released Yume-5B DiT: dim 3072, ffn 14336, 24 heads, 30 layers, text 512 x 4096, 48 channels.
GENERATOR_LIMITS = {"dim": 4 * 3072, "ffn_dim": 4 * 14336, "num_heads": 4 * 24, "num_layers": 4 * 30,
                    "text_len": 4 * 512, "text_dim": 4 * 4096, "in_dim": 4 * 48, "out_dim": 4 * 48,
                    "freq_dim": 4 * 256, "channel_dim": 4 * 96, "channel_heads": 4 * 24}
# Weights of the released generator (about 5.0e9); a config may ask for 4 times as many.
MAX_GENERATOR_PARAMETERS = 4 * 5_000_000_000
# umt5-xxl's encoder: d_model 4096, 24 layers, 64 heads, FFN 10240, vocabulary 256,384, 512 tokens.
TEXT_ENCODER_LIMITS = {"d_model": 4 * 4096, "num_layers": 4 * 24, "num_heads": 4 * 64, "d_ff": 4 * 10240,
                       "max_length": 4 * 512, "text_len": 4 * 512, "cache_size": 1_000_000, "vocab": 4 * 256_384}
# The Wan2.2 VAE: base 160 channels (at most 640), 48 latent channels, stride 16, 1280-pixel frames.
# The same umt5-xxl and Wan2.2 VAE sizes under their config.json names (transformers, diffusers).
UMT5_LIMITS = {"d_model": 4 * 4096, "num_layers": 4 * 24, "num_heads": 4 * 64, "d_ff": 4 * 10240, "d_kv": 4 * 64,
               "vocab_size": 4 * 256_384}
WAN_VAE_LIMITS = {"base_dim": 4 * 160, "decoder_base_dim": 4 * 256, "z_dim": 4 * 48, "num_res_blocks": 4 * 2,
                  "dim_mult": 4 * 4, "in_channels": 4 * 12, "out_channels": 4 * 12, "patch_size": 4 * 2}
CODEC_LIMITS = {"image_size": 4 * 1280, "latent_channels": 4 * 48, "base_channels": 4 * 160,
                "max_channels": 4 * 640, "spatial_stride": 4 * 16, "temporal_stride": 4 * 4}


def check_limits(config: str, values: Mapping[str, Any], limits: Mapping[str, int]) -> None:
    """Raise ValueError naming every field of ``values`` above its limit in ``limits``."""
    over = [f"{name}={value!r} is above the limit {limits[name]:,}" for name, value in values.items()
            if name in limits and isinstance(value, (int, float)) and value > limits[name]]
    if over:
        raise ValueError(f"{config}: {'; '.join(over)} (limits are 4x the largest released model, to refuse "
                         "configs that would exhaust memory); check the config file")


def generator_parameters(dim: int, ffn_dim: int, num_layers: int, text_dim: int) -> int:
    """About how many weights a DiT of these sizes has: per block self- and cross-attention
    (8 dim x dim) and the FFN (2 dim x ffn_dim), plus the text embedding."""
    return num_layers * (8 * dim * dim + 2 * dim * ffn_dim) + text_dim * dim + dim * dim

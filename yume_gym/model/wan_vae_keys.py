"""Parameter names of the Wan2.2 VAE: Wan-native (``Wan2.2_VAE.pth``) <-> diffusers.

diffusers' ``AutoencoderKLWan`` is the Wan2.2 VAE under other module names, so the conversion
is a renaming: rules on module paths, applied to a built diffusers model, give the complete
name table, and loading a Wan-native file is a strict lookup in it.
The renaming rules: docs/architecture.md.
"""

from __future__ import annotations

import re

import torch
from torch import nn

# (pattern on the diffusers module path, Wan-native replacement, is it a residual block?)
_MODULE_RULES: list[tuple[str, str, bool]] = [
    (r"quant_conv", "conv1", False),
    (r"post_quant_conv", "conv2", False),
    (r"(encoder|decoder)\.conv_in", r"\1.conv1", False),
    (r"(encoder|decoder)\.norm_out", r"\1.head.0", False),
    (r"(encoder|decoder)\.conv_out", r"\1.head.2", False),
    (r"(encoder|decoder)\.mid_block\.resnets\.0", r"\1.middle.0", True),
    (r"(encoder|decoder)\.mid_block\.attentions\.0", r"\1.middle.1", False),
    (r"(encoder|decoder)\.mid_block\.resnets\.1", r"\1.middle.2", True),
    (r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)", r"encoder.downsamples.\1.downsamples.\2",
     True),
    (r"encoder\.down_blocks\.(\d+)\.downsampler", r"encoder.downsamples.\1.downsamples.{down}",
     False),
    (r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)", r"decoder.upsamples.\1.upsamples.\2", True),
    (r"decoder\.up_blocks\.(\d+)\.upsampler", r"decoder.upsamples.\1.upsamples.{up}", False),
]
_RESNET_LEAVES = {
    "norm1.gamma": "residual.0.gamma",
    "conv1.weight": "residual.2.weight",
    "conv1.bias": "residual.2.bias",
    "norm2.gamma": "residual.3.gamma",
    "conv2.weight": "residual.6.weight",
    "conv2.bias": "residual.6.bias",
    "conv_shortcut.weight": "shortcut.weight",
    "conv_shortcut.bias": "shortcut.bias",
}
_PLAIN_LEAF = re.compile(
    r"(weight|bias|gamma|resample\.1\.(weight|bias)|time_conv\.(weight|bias)"
    r"|norm\.gamma|to_qkv\.(weight|bias)|proj\.(weight|bias))"
)


def diffusers_to_wan_name(name: str, num_res_blocks: int) -> str:
    """The Wan-native name of the diffusers ``AutoencoderKLWan`` parameter ``name``."""
    for pattern, replacement, is_resnet in _MODULE_RULES:
        match = re.fullmatch(pattern + r"\.(.+)", name)
        if match is None:
            continue
        leaf = match.group(match.re.groups)
        module = match.expand(replacement.format(down=num_res_blocks, up=num_res_blocks + 1))
        if is_resnet and leaf in _RESNET_LEAVES:
            return f"{module}.{_RESNET_LEAVES[leaf]}"
        if not is_resnet and _PLAIN_LEAF.fullmatch(leaf):
            return f"{module}.{leaf}"
        break
    raise ValueError(
        f"no Wan-native name for the AutoencoderKLWan parameter {name!r}; only the Wan2.2 "
        f"layout (is_residual=True) is supported"
    )


def wan_name_table(vae: nn.Module) -> dict[str, str]:
    """``{Wan-native name: diffusers name}`` for every tensor of the diffusers ``vae``.

    Works on a model built on the meta device. Raises ValueError if two diffusers names map
    to one Wan-native name (the table must be one to one).
    """
    blocks = vae.config.num_res_blocks
    table: dict[str, str] = {}
    for name in vae.state_dict():
        wan = diffusers_to_wan_name(name, blocks)
        if wan in table:
            raise ValueError(f"{name!r} and {table[wan]!r} both map to Wan-native {wan!r}")
        table[wan] = name
    return table


def wan_manifest(vae: nn.Module) -> dict[str, tuple[int, ...]]:
    """``{Wan-native name: shape}`` that a Wan-native file for ``vae`` must hold exactly."""
    shapes = {name: tuple(t.shape) for name, t in vae.state_dict().items()}
    return {wan: shapes[name] for wan, name in wan_name_table(vae).items()}


def wan_to_diffusers_state(
    tensors: dict[str, torch.Tensor], vae: nn.Module
) -> dict[str, torch.Tensor]:
    """Rename a Wan-native state dict to ``vae``'s names.

    Check the names first (``safe_load.check_manifest`` against :func:`wan_manifest`);
    a name outside the table raises ValueError here.
    """
    table = wan_name_table(vae)
    unknown = sorted(set(tensors) - set(table))
    if unknown:
        raise ValueError(f"not Wan2.2 VAE parameter names: {unknown[:10]}")
    return {table[name]: t for name, t in tensors.items()}


def diffusers_to_wan_state(vae: nn.Module) -> dict[str, torch.Tensor]:
    """``vae``'s tensors under their Wan-native names (to write a ``Wan2.2_VAE.pth``)."""
    state = vae.state_dict()
    return {wan: state[name] for wan, name in wan_name_table(vae).items()}

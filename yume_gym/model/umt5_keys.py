"""Parameter names of the umt5 encoder: Wan-native (``models_t5_umt5-xxl-enc-bf16.pth``) <->
transformers ``UMT5EncoderModel``.

Wan's ``T5Encoder`` with ``shared_pos=False`` is the umt5 encoder and shapes agree name for
name, so the conversion is a renaming. The name table: docs/architecture.md.
"""

from __future__ import annotations

import re
from typing import TypeVar

import torch
from torch import nn

TIED_ALIAS = "encoder.embed_tokens.weight"  # the same tensor as shared.weight
T = TypeVar("T")

_LAYER = r"encoder\.block\.(\d+)\.layer\."
_RULES: list[tuple[str, str]] = [  # (transformers name pattern, Wan-native name)
    (r"shared\.weight", "token_embedding.weight"),
    (r"encoder\.final_layer_norm\.weight", "norm.weight"),
    (_LAYER + r"0\.layer_norm\.weight", r"blocks.\1.norm1.weight"),
    (_LAYER + r"0\.SelfAttention\.([qkvo])\.weight", r"blocks.\1.attn.\2.weight"),
    (_LAYER + r"0\.SelfAttention\.relative_attention_bias\.weight",
     r"blocks.\1.pos_embedding.embedding.weight"),
    (_LAYER + r"1\.layer_norm\.weight", r"blocks.\1.norm2.weight"),
    (_LAYER + r"1\.DenseReluDense\.wi_0\.weight", r"blocks.\1.ffn.gate.0.weight"),
    (_LAYER + r"1\.DenseReluDense\.wi_1\.weight", r"blocks.\1.ffn.fc1.weight"),
    (_LAYER + r"1\.DenseReluDense\.wo\.weight", r"blocks.\1.ffn.fc2.weight"),
]


def hf_to_wan_name(name: str) -> str:
    """The Wan-native name of the ``UMT5EncoderModel`` parameter ``name``."""
    for pattern, replacement in _RULES:
        match = re.fullmatch(pattern, name)
        if match is not None:
            return match.expand(replacement)
    raise ValueError(f"no Wan-native name for the UMT5EncoderModel parameter {name!r}")


def hf_manifest(model: nn.Module) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` of ``model``'s distinct tensors (the tied alias left out)."""
    return {name: tuple(t.shape) for name, t in model.state_dict().items() if name != TIED_ALIAS}


def wan_name_table(model: nn.Module) -> dict[str, str]:
    """``{Wan-native name: transformers name}`` for every distinct tensor of ``model``."""
    table: dict[str, str] = {}
    for name in hf_manifest(model):
        wan = hf_to_wan_name(name)
        if wan in table:
            raise ValueError(f"{name!r} and {table[wan]!r} both map to Wan-native {wan!r}")
        table[wan] = name
    return table


def wan_manifest(model: nn.Module) -> dict[str, tuple[int, ...]]:
    """``{Wan-native name: shape}`` that a Wan-native file for ``model`` must hold exactly."""
    shapes = hf_manifest(model)
    return {wan: shapes[name] for wan, name in wan_name_table(model).items()}


def wan_to_hf_state(tensors: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename a (checked) Wan-native state dict to ``model``'s names (tied alias left out)."""
    table = wan_name_table(model)
    unknown = sorted(set(tensors) - set(table))
    if unknown:
        raise ValueError(f"not umt5 encoder parameter names: {unknown[:10]}")
    return {table[name]: t for name, t in tensors.items()}


def hf_to_wan_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s tensors under their Wan-native names (to write a Wan-native ``.pth``)."""
    state = model.state_dict()
    return {wan: state[name] for wan, name in wan_name_table(model).items()}


def fold_tied(entries: dict[str, T]) -> dict[str, T]:
    """Entries of a transformers-format file with the tied alias folded into ``shared.weight``
    (files may store the embedding under either name, or both)."""
    entries = dict(entries)
    alias = entries.pop(TIED_ALIAS, None)
    if alias is not None and "shared.weight" not in entries:
        entries["shared.weight"] = alias
    return entries

"""Weight quantisation of the generator's transformer-block linear layers through torchao.

``"int8"``: int8 weight-only (weights stored as int8 with a scale per output channel, computed
in the activations' dtype); runs on CPUs and GPUs. ``"fp8"``: float8 weights and dynamically
scaled float8 activations, for CUDA GPUs of compute capability 8.9 or newer (Ada, Hopper).
Only the blocks' linears are quantised: the patch, text and time embeddings and the head keep
their weights (the time embedding and the head run in float32, as released).
"""

from __future__ import annotations

import torch
from torch import nn

QUANTIZATIONS = ("int8", "fp8")
FP8_MIN_CAPABILITY = (8, 9)
INSTALL_HINT = "install torchao with `pip install 'yume-gym[quant]'` (or `pip install torchao`)"


def _torchao_quantization():
    try:
        from torchao import quantization
    except ImportError as err:
        raise ImportError(f"weight quantisation needs torchao: {INSTALL_HINT}") from err
    return quantization


def _check_fp8_device(generator: nn.Module) -> None:
    device = next(generator.parameters()).device
    if device.type != "cuda":
        raise ValueError(f"quantize='fp8' needs a CUDA GPU of compute capability >= 8.9; the generator is on "
                         f"{device}: use quantize='int8' or move the model to such a GPU")
    capability = torch.cuda.get_device_capability(device)
    if capability < FP8_MIN_CAPABILITY:
        raise ValueError(f"quantize='fp8' needs compute capability >= 8.9 (Ada, Hopper); "
                         f"{torch.cuda.get_device_name(device)} has {capability[0]}.{capability[1]}: use quantize='int8'")


def quantize_blocks(generator: nn.Module, kind: str | None) -> None:
    """Quantise ``generator.blocks``' linear layers in place to ``kind`` (None: leave them).

    The kind applied is kept as ``generator.quantization``; asking again for it does nothing,
    and asking for another (or for None) once applied is an error: quantised weights cannot be
    restored, so the fix is to load the model again.
    """
    if kind is not None and kind not in QUANTIZATIONS:
        raise ValueError(f"quantize={kind!r} is not known; use None or one of {list(QUANTIZATIONS)}")
    current = getattr(generator, "quantization", None)
    if kind == current:
        return
    if current is not None:
        raise ValueError(f"this generator's weights are already quantised to {current!r}; quantize={kind!r} "
                         "needs a fresh copy of the model (load it again)")
    if kind == "fp8":
        _check_fp8_device(generator)
    quantization = _torchao_quantization()
    if kind == "fp8":
        config = quantization.Float8DynamicActivationFloat8WeightConfig()
    else:
        config = quantization.Int8WeightOnlyConfig()
    quantization.quantize_(generator.blocks, config, filter_fn=lambda module, _: isinstance(module, nn.Linear))
    generator.quantization = kind

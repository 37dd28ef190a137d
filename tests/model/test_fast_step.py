"""The fast-step options of the generator at small size on a CPU: regional torch.compile,
torchao weight quantisation and the attention kernels' order."""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend

from yume_gym.model import build_generator
from yume_gym.model.attention import CUDA_ATTENTION_BACKENDS, fast_attention
from yume_gym.model.quantize import quantize_blocks



def _tiny_inputs(generator):
    c = generator.config
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, c.in_dim, 2, 4, 4, generator=gen)  # (B, C, F, H, W)
    context = torch.randn(1, 6, c.text_dim, generator=gen)  # (B, L, text_dim)
    history = torch.randn(1, c.in_dim, 3, 4, 4, generator=gen)  # (B, C, Hh, H, W)
    return x, torch.tensor([875.0]), context, history


def _generator():
    torch.manual_seed(0)
    generator = build_generator("tiny").eval()
    torch.nn.init.normal_(generator.head.head.weight, std=0.02)  # a live head: blocks reach the output
    return generator


@pytest.mark.slow  # compiling takes 30-80 s on a 2-core CPU
@torch.no_grad()
def test_compiled_blocks_match_eager():
    generator = _generator()
    x, t, context, history = _tiny_inputs(generator)
    eager = generator(x, t, context, history)
    state = {k: v.clone() for k, v in generator.state_dict().items()}
    generator.compile_blocks("default")
    compiled = generator(x, t, context, history)
    torch.testing.assert_close(compiled, eager, rtol=1e-4, atol=1e-5)
    assert generator.state_dict().keys() == state.keys()  # compiling adds no weights
    generator.compile_blocks(None)
    assert torch.equal(generator(x, t, context, history), eager)


def test_compile_modes_are_checked():
    generator = _generator()
    with pytest.raises(ValueError, match=r"compile='fast' is not a torch.compile mode here; use None or one of "
                                         r"\['default', 'reduce-overhead', 'max-autotune-no-cudagraphs'\]"):
        generator.compile_blocks("fast")
    with pytest.raises(ValueError, match="compile='reduce-overhead' captures CUDA graphs; this generator is on cpu"):
        generator.compile_blocks("reduce-overhead")


@torch.no_grad()
def test_int8_weight_only_quantises_the_block_linears():
    pytest.importorskip("torchao", reason="int8 quantisation needs torchao (the quant extra)")
    generator = _generator()
    x, t, context, history = _tiny_inputs(generator)
    reference = generator(x, t, context, history)
    quantize_blocks(generator, "int8")
    assert type(generator.blocks[0].self_attn.q.weight).__name__ == "Int8Tensor"
    assert type(generator.blocks[0].ffn[0].weight).__name__ == "Int8Tensor"
    assert type(generator.head.head.weight) is torch.nn.Parameter  # the head keeps its weights
    quantised = generator(x, t, context, history)
    error = (quantised - reference).norm() / reference.norm()
    assert 0 < error < 0.05, error
    quantize_blocks(generator, "int8")  # asking again does nothing
    with pytest.raises(ValueError, match=r"already quantised to 'int8'; quantize=None needs a fresh copy"):
        quantize_blocks(generator, None)


def test_fp8_and_unknown_kinds_are_clear_errors():
    generator = _generator()
    with pytest.raises(ValueError, match=r"quantize='fp8' needs a CUDA GPU of compute capability >= 8.9; "
                                         r"the generator is on cpu: use quantize='int8'"):
        quantize_blocks(generator, "fp8")
    with pytest.raises(ValueError, match=r"quantize='int4' is not known; use None or one of \['int8', 'fp8'\]"):
        quantize_blocks(generator, "int4")
    assert generator.quantization is None


def test_attention_prefers_cudnn_and_flash_on_cuda_only():
    assert CUDA_ATTENTION_BACKENDS[:2] == [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION]
    with fast_attention(torch.device("cpu")):  # PyTorch's own choice on a CPU: every kernel allowed
        assert torch.backends.cuda.math_sdp_enabled() and torch.backends.cuda.flash_sdp_enabled()


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.gpu
@needs_cuda
@torch.no_grad()
def test_cuda_graphs_and_fast_attention_match_eager_on_the_gpu():
    generator = _generator().to("cuda", torch.bfloat16)
    x, t, context, history = (v.cuda() for v in _tiny_inputs(generator))
    eager = generator(x, t, context, history).float()
    generator.compile_blocks("reduce-overhead")
    for _ in range(3):  # warm-up runs, then graph replays
        graphed = generator(x, t, context, history).float()
    torch.testing.assert_close(graphed, eager, rtol=2e-2, atol=2e-2)


@pytest.mark.gpu
@needs_cuda
@torch.no_grad()
def test_fp8_where_the_gpu_supports_it():
    pytest.importorskip("torchao", reason="fp8 quantisation needs torchao (the quant extra)")
    generator = _generator().to("cuda", torch.bfloat16)
    if torch.cuda.get_device_capability() < (8, 9):
        with pytest.raises(ValueError, match="needs compute capability >= 8.9"):
            quantize_blocks(generator, "fp8")
        return
    x, t, context, history = (v.cuda() for v in _tiny_inputs(generator))
    reference = generator(x, t, context, history).float()
    quantize_blocks(generator, "fp8")
    error = (generator(x, t, context, history).float() - reference).norm() / reference.norm()
    assert error < 0.1, error

"""GPU memory of the released components, computed without a GPU and without weights.

Weights are counted from the parameters; activations by running the real-size model once on
fake tensors (no data, no kernels) and adding up the bytes alive at each moment
(:class:`PeakTracker`). ``python -m yume_gym.model.memory`` prints the table of
``docs/memory.md``. What is counted and what is not: docs/architecture.md.
"""

from __future__ import annotations

import argparse
import contextlib
import weakref
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from transformers import UMT5Config

from yume_gym.model.config import GeneratorConfig
from yume_gym.model.generator import build_generator
from yume_gym.model.tscm import MAX_HISTORY
from yume_gym.model.umt5 import TEXT_LEN, meta_umt5, umt5_xxl_config
from yume_gym.model.wan_vae import WanVAE, meta_vae, wan22_vae_config

GIB = 2**30
RESOLUTIONS = {"704x1280": (704, 1280), "544x960": (544, 960)}


class PeakTracker(TorchDispatchMode):
    """Tracks the bytes of tensor storages created inside it: ``live`` now, ``peak`` at most.

    A storage counts once however many views share it, and stops counting when freed. Only
    storages that an operation allocates count: views and in-place results share their
    input's storage, so tensors that existed before entering (weights, inputs) never count.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._seen: set[int] = set()

    def _free(self, key: int, nbytes: int) -> None:
        self.live -= nbytes
        self._seen.discard(key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        inputs = {id(t.untyped_storage()) for t in tree_leaves((args, kwargs))
                  if isinstance(t, torch.Tensor)}
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                key = id(storage)  # one Python object per live storage
                if key not in self._seen and key not in inputs:  # new memory, not a view
                    self._seen.add(key)
                    self.live += storage.nbytes()
                    self.peak = max(self.peak, self.live)
                    weakref.finalize(storage, self._free, key, storage.nbytes())
        return out


class _KnownRepeats(TorchFunctionMode):
    """Gives ``repeat_interleave`` its ``output_size`` when the repeats tensor was built from
    Python numbers (``torch.tensor([...])``): fake tensors cannot size that output otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self._values: dict[int, int] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = dict(kwargs or {})
        if func is torch.Tensor.repeat_interleave and kwargs.get("output_size") is None:
            repeats = args[1] if len(args) > 1 else kwargs.get("repeats")
            if isinstance(repeats, torch.Tensor) and id(repeats) in self._values:
                total = self._values[id(repeats)]
                if repeats.numel() == 1:
                    dim = kwargs.get("dim", args[2] if len(args) > 2 else None)
                    total *= args[0].shape[dim] if dim is not None else args[0].numel()
                kwargs["output_size"] = total
        out = func(*args, **kwargs)
        data = args[0] if func is torch.tensor and args else None
        values = [data] if isinstance(data, int) else data
        if isinstance(values, (list, tuple)) and all(isinstance(v, int) for v in values):
            self._values[id(out)] = sum(values)
            weakref.finalize(out, self._values.pop, id(out), None)
        return out


def activation_peak(module: nn.Module, run: Callable[[nn.Module], Any]) -> int:
    """Peak activation bytes of ``run(module)``; ``module`` is built on the meta device and is
    given fake storage here (its weights are not counted). Runs under ``torch.no_grad``."""
    with FakeTensorMode(allow_non_fake_inputs=True):
        module.to_empty(device="cpu")
        tracker = PeakTracker()
        with torch.no_grad(), _KnownRepeats(), tracker:
            run(module)
    return tracker.peak


def parameter_bytes(module: nn.Module, dtype: torch.dtype = torch.bfloat16) -> int:
    """Bytes of ``module``'s distinct parameters and buffers stored in ``dtype``."""
    tensors = {id(t): t for t in [*module.parameters(), *module.buffers()]}
    return sum(t.numel() for t in tensors.values()) * dtype.itemsize


class ComponentMemory(NamedTuple):
    """GPU memory of one component: weights and peak activations, in bytes."""

    weights: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.activations


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _latent_grid(video_hw: tuple[int, int], stride: int = 16) -> tuple[int, int]:
    h, w = video_hw
    if h % stride or w % stride:
        raise ValueError(f"video size {h}x{w} must be divisible by {stride}")
    return h // stride, w // stride


def dit_step(config: GeneratorConfig | str, video_hw: tuple[int, int], chunk_latents: int = 8,
             history_latents: int = 0, dtype: torch.dtype = torch.bfloat16) -> ComponentMemory:
    """One denoising step of the generator on a chunk (plus TSCM history, kept as latents)."""
    model = build_generator(config, device="meta", dtype=dtype)
    h, w = _latent_grid(video_hw)
    c = model.config

    def run(m: nn.Module) -> None:
        x = torch.randn(1, c.in_dim, chunk_latents, h, w, dtype=dtype)  # (B, C, F, h, w)
        history = (torch.randn(1, c.in_dim, history_latents, h, w, dtype=dtype)
                   if history_latents else None)  # (B, C, Hh, h, w)
        context = torch.randn(1, c.text_len, c.text_dim, dtype=dtype)  # (B, L, text_dim)
        m(x, torch.full((1,), 1000.0), context, history)

    return ComponentMemory(parameter_bytes(model, dtype), activation_peak(model, run))


def vae_decode(config: dict[str, Any], video_hw: tuple[int, int], latents: int = 8,
               tiling: bool = False, dtype: torch.dtype = torch.bfloat16) -> ComponentMemory:
    """Decoding ``latents`` latent frames (one chunk) to video."""
    with _default_dtype(dtype):
        vae = WanVAE(meta_vae(config), tiling=tiling)
    h, w = _latent_grid(video_hw, vae.spatial_stride)

    def run(m: WanVAE) -> None:
        m.decode(torch.randn(1, m.latent_channels, latents, h, w, dtype=dtype))

    return ComponentMemory(parameter_bytes(vae, dtype), activation_peak(vae, run))


def vae_encode(config: dict[str, Any], video_hw: tuple[int, int], frames: int = 17,
               tiling: bool = False, dtype: torch.dtype = torch.bfloat16) -> ComponentMemory:
    """Encoding ``frames`` video frames (17: the start image repeated, 5 latents)."""
    with _default_dtype(dtype):
        vae = WanVAE(meta_vae(config), tiling=tiling)

    def run(m: WanVAE) -> None:
        m.encode(torch.rand(1, m.video_channels, frames, *video_hw, dtype=dtype))

    return ComponentMemory(parameter_bytes(vae, dtype), activation_peak(vae, run))


def vae_stream_cache(config: dict[str, Any], video_hw: tuple[int, int], latents: int = 8,
                     dtype: torch.dtype = torch.bfloat16) -> int:
    """Bytes that a :class:`~yume_gym.model.wan_vae.StreamDecoder` keeps between chunks."""
    with _default_dtype(dtype):
        vae = WanVAE(meta_vae(config))
    h, w = _latent_grid(video_hw, vae.spatial_stride)
    kept: list[int] = []

    def run(m: WanVAE) -> None:
        decoder = m.stream_decoder()
        decoder(torch.randn(1, m.latent_channels, latents, h, w, dtype=dtype))
        kept.append(decoder.cache_bytes)

    activation_peak(vae, run)
    return kept[0]


def text_encoder(config: UMT5Config, batch: int = 8, text_len: int = TEXT_LEN,
                 dtype: torch.dtype = torch.bfloat16) -> ComponentMemory:
    """Encoding ``batch`` texts padded to ``text_len`` tokens."""
    model = meta_umt5(config).to(dtype)

    def run(m: nn.Module) -> None:
        ids = torch.randint(0, config.vocab_size, (batch, text_len))  # (B, L)
        m(input_ids=ids, attention_mask=torch.ones(batch, text_len, dtype=torch.long))

    return ComponentMemory(parameter_bytes(model, dtype), activation_peak(model, run))


def _gib(n: int) -> str:
    return f"{n / GIB:.2f}"


def measure(video_hw: tuple[int, int], tiled: bool = True) -> dict[str, ComponentMemory]:
    """Every row of the memory table at one video size (``tiled``: add the tiled VAE rows)."""
    vae_cfg, t5_cfg = wan22_vae_config(), umt5_xxl_config()
    rows = {
        "generator step, first chunk (8 latents, no history)": dit_step("yume-5b", video_hw),
        f"generator step, full TSCM history ({MAX_HISTORY} latents)":
            dit_step("yume-5b", video_hw, history_latents=MAX_HISTORY),
        "VAE decode, one chunk (8 latents)": vae_decode(vae_cfg, video_hw),
        "VAE encode, start image (17 frames)": vae_encode(vae_cfg, video_hw),
        "text encoder, 8 captions x 512 tokens": text_encoder(t5_cfg),
    }  # fmt: skip
    rows["VAE stream decoder, cache kept between chunks"] = ComponentMemory(
        0, vae_stream_cache(vae_cfg, video_hw))
    if tiled:
        rows["VAE decode, one chunk, tiled"] = vae_decode(vae_cfg, video_hw, tiling=True)
        rows["VAE encode, start image, tiled"] = vae_encode(vae_cfg, video_hw, tiling=True)
    return rows


def memory_table(sizes: dict[str, tuple[int, int]] = RESOLUTIONS) -> str:
    """The Markdown table of weights and peak activations (GiB) per component and size."""
    measured = {name: measure(hw) for name, hw in sizes.items()}
    names = list(sizes)
    lines = ["| component, job | weights | " + " | ".join(f"activations {n}" for n in names) + " |",
             "|---|---:|" + "---:|" * len(names)]
    for row in measured[names[0]]:
        cells = [_gib(measured[n][row].activations) for n in names]
        weights = _gib(measured[names[0]][row].weights)
        lines.append(f"| {row} | {weights} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the memory table (a few tens of seconds on one CPU core; no GPU, no weights)."""
    parser = argparse.ArgumentParser(prog="python -m yume_gym.model.memory",
                                     description=main.__doc__)
    parser.parse_args(argv)
    print(memory_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

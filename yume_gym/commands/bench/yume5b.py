"""``yume-gym bench yume5b``: how fast and how much memory the released 5B step takes on this GPU.

Builds the full-size Yume-5B DiT, the Wan2.2 VAE and the umt5-xxl encoder with random weights
(built on the meta device, materialised on the device: nothing is downloaded) and times one
chunk, split into text, sampling (per step) and VAE decode, at each resolution, with compile
and quantisation off and on. ``--preset tiny --device cpu`` runs the same code in seconds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from yume_gym.commands.bench.common import machine, publish, sync
from yume_gym.model import build_generator
from yume_gym.model.quantize import QUANTIZATIONS, quantize_blocks
from yume_gym.model.umt5 import TEXT_LEN, meta_umt5, umt5_xxl_config
from yume_gym.model.wan_vae import build_wan_vae, wan22_vae_config
from yume_gym import options
from yume_gym.options import option
from yume_gym.sampling import RELEASED_SCHEDULE, sample

CHUNK_LATENTS = 8
GIB = 2**30


@dataclass(frozen=True)
class BenchPreset:
    """The sizes one benchmark run builds."""

    generator: str
    """generator preset of yume_gym.model.PRESETS"""
    vae: dict[str, Any]
    """AutoencoderKLWan config"""
    text: Any
    """UMT5Config of the text encoder"""
    text_len: int
    """tokens per caption after padding (the encoder always runs this many)"""
    resolutions: tuple[str, ...]
    """default frame sizes, "HxW\""""
    dtype: torch.dtype
    """the components' precision"""


PRESETS = {
    "yume-5b": BenchPreset("yume-5b", wan22_vae_config(), umt5_xxl_config(), TEXT_LEN,
                           ("544x960", "704x1280"), torch.bfloat16),
    "tiny": BenchPreset("tiny", wan22_vae_config(base_dim=8, decoder_base_dim=8, z_dim=16, latents_mean=[0.0] * 16,
                                                 latents_std=[1.0] * 16),
                        umt5_xxl_config(vocab_size=64, d_model=64, d_kv=8, d_ff=96, num_layers=1, num_heads=4),
                        64, ("64x64", "64x128"), torch.float32),
}


@dataclass
class Yume5bArgs:
    preset: str = option("yume-5b", "model sizes to build", choices=sorted(PRESETS))
    device: str = option("cuda", "torch device (the 5B preset needs a GPU)", type=str)
    resolutions: list[tuple[int, int]] | None = option(None, "comma-separated HxW (default: the preset's)", type=str)
    compile: list[str] = option("off,default", "comma-separated compile settings: off, default, "
                                               "reduce-overhead (CUDA graphs)", type=str)
    quantize: list[str] = option("off,int8", f"comma-separated: off and at most one of {QUANTIZATIONS}", type=str)
    history: int = option(37, "history latents each chunk attends to (TSCM)")
    repeats: int = option(3, "timed chunks per setting (median)")
    warmup: int = option(1, "untimed chunks first (compilation happens here)")
    threads: int | None = option(None, "torch CPU threads (default: torch's choice)")
    out: str = option("runs/bench/yume5b.md", "markdown table to write ('' to skip)")

    def __post_init__(self) -> None:
        preset = PRESETS[self.preset]
        self.resolutions = [_size(r) for r in (self.resolutions or ",".join(preset.resolutions)).split(",") if r]
        self.compile = [c for c in self.compile.split(",") if c]
        self.quantize = [q for q in self.quantize.split(",") if q]
        if any(c not in ("off", "default", "reduce-overhead") for c in self.compile):
            raise ValueError(f"--compile {self.compile} must hold off, default or reduce-overhead")
        kinds = [q for q in self.quantize if q != "off"]
        if any(q not in QUANTIZATIONS for q in kinds) or len(kinds) > 1 or len(set(self.quantize)) < len(self.quantize):
            raise ValueError(f"--quantize {self.quantize} must hold off and at most one of {list(QUANTIZATIONS)}")
        self.quantize.sort(key=lambda q: q != "off")  # quantising is one-way: unquantised runs first
        if self.history < 0 or self.repeats < 1 or self.warmup < 0:
            raise ValueError("--history and --warmup must be >= 0, --repeats >= 1")
        if torch.device(self.device).type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"--device {self.device}: no CUDA GPU here; run --preset tiny --device cpu "
                             "for the CPU smoke run")


def parse_args(argv: list[str] | None) -> Yume5bArgs:
    return options.parse_args(Yume5bArgs, argv, "yume-gym bench yume5b", __doc__.splitlines()[0])


def _size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"resolution {text!r} must be HxW, e.g. 704x1280") from None
    return height, width


class Meter:
    """Median wall time and peak extra device memory of repeated calls."""

    def __init__(self, device: torch.device, repeats: int, warmup: int) -> None:
        self.device, self.repeats, self.warmup = device, repeats, warmup

    def __call__(self, fn: Callable[[], Any]) -> tuple[float, float | None]:
        """(median seconds, peak GiB allocated above what was resident before; None off CUDA)."""
        for _ in range(self.warmup):
            fn()
        cuda = self.device.type == "cuda"
        sync(str(self.device))
        if cuda:
            resident = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        times = []
        for _ in range(self.repeats):
            sync(str(self.device))
            t0 = time.perf_counter()
            fn()
            sync(str(self.device))
            times.append(time.perf_counter() - t0)
        peak = (torch.cuda.max_memory_allocated(self.device) - resident) / GIB if cuda else None
        return statistics.median(times), peak


def allocated_gib(device: torch.device) -> float | None:
    return torch.cuda.memory_allocated(device) / GIB if device.type == "cuda" else None


def build_components(preset: BenchPreset, device: torch.device) -> tuple[Any, Any, Any, dict[str, float | None]]:
    """(generator, VAE, umt5 encoder) with random weights on ``device``, and the GiB each takes."""
    weights: dict[str, float | None] = {}
    before = allocated_gib(device)
    torch.manual_seed(0)
    generator = build_generator(preset.generator, device=device, dtype=preset.dtype).eval()  # meta, then device
    after = allocated_gib(device)
    weights["DiT"] = None if after is None else after - before
    vae = build_wan_vae(preset.vae, device=device, dtype=preset.dtype).eval()
    weights["VAE"] = None if after is None else allocated_gib(device) - after
    after = allocated_gib(device)
    text = meta_umt5(preset.text).to(dtype=preset.dtype).to_empty(device=device)
    text.init_weights()
    text.eval()
    weights["umt5"] = None if after is None else allocated_gib(device) - after
    return generator, vae, text, weights


@torch.no_grad()
def run(args: Yume5bArgs) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every (quantisation, compile, resolution) row and the facts shared by all rows."""
    preset, device = PRESETS[args.preset], torch.device(args.device)
    generator, vae, text_model, weights = build_components(preset, device)
    meter = Meter(device, args.repeats, args.warmup)
    c, g = generator.config, torch.Generator(device="cpu").manual_seed(0)
    ids = torch.randint(preset.text.vocab_size, (1, preset.text_len), generator=g).to(device)  # (1, text_len)
    text_s, text_peak = meter(lambda: text_model(input_ids=ids).last_hidden_state)
    context = torch.randn(1, preset.text_len, c.text_dim, generator=g).to(device, preset.dtype)  # (1, L, text_dim)
    rows: list[dict[str, Any]] = []
    decode: dict[tuple[int, int], tuple[float, float | None, int]] = {}
    for quantize in args.quantize:
        generator.compile_blocks(None)
        before = allocated_gib(device)
        quantize_blocks(generator, None if quantize == "off" else quantize)
        if quantize != "off" and before is not None:
            weights[f"DiT {quantize}"] = weights["DiT"] + allocated_gib(device) - before
        for compile_mode in args.compile:
            generator.compile_blocks(None if compile_mode == "off" else compile_mode)
            for height, width in args.resolutions:
                h, w = height // vae.spatial_stride, width // vae.spatial_stride
                shape = (1, c.in_dim, CHUNK_LATENTS, h, w)
                noise = torch.randn(shape, generator=g).to(device, preset.dtype)  # (1, C, F, h, w)
                history = torch.randn(1, c.in_dim, args.history, h, w, generator=g).to(device, preset.dtype)
                conditioning = generator.condition(noise, context, history if args.history else None)

                def chunk(noise=noise, conditioning=conditioning):  # the 4-step denoising of one chunk
                    return sample(lambda x, t: generator(x, t, conditioning=conditioning), noise, RELEASED_SCHEDULE)

                sample_s, sample_peak = meter(chunk)
                if (height, width) not in decode:
                    latents = noise  # (1, C, F, h, w): random latents decode as fast as real ones
                    decode_s, decode_peak = meter(lambda: vae.decode(latents))
                    decode[(height, width)] = (decode_s, decode_peak, vae.video_frames(CHUNK_LATENTS))
                decode_s, decode_peak, frames = decode[(height, width)]
                rows.append(dict(
                    resolution=f"{height}x{width}", compile=compile_mode, quantize=quantize,
                    tokens=(conditioning.num_history_tokens, CHUNK_LATENTS * h * w // (c.patch_size[1] * c.patch_size[2])),
                    text_s=text_s, sample_s=sample_s, decode_s=decode_s, frames=frames,
                    peaks=(text_peak, sample_peak, decode_peak),
                ))  # fmt: skip
    return rows, {"weights": weights, "steps": RELEASED_SCHEDULE.steps}


def _gib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def render(args: Yume5bArgs, rows: list[dict[str, Any]], facts: dict[str, Any]) -> str:
    """The Markdown report of one run."""
    device, steps = torch.device(args.device), facts["steps"]
    weights = ", ".join(f"{k} {_gib(v)}" for k, v in facts["weights"].items())
    lines = [
        f"# Yume-5B step: {args.preset} preset, random weights",
        "",
        f"Device: {args.device} ({machine(args.device)}), torch {torch.__version__}, "
        f"{PRESETS[args.preset].dtype} weights, {torch.get_num_threads()} CPU threads. One chunk = "
        f"{CHUNK_LATENTS} latents ({rows[0]['frames']} video frames), {steps} sampling steps, history of "
        f"{args.history} latents through TSCM. Median of {args.repeats} chunks after {args.warmup} warm-up "
        f"chunk(s) (compilation happens in the warm-up).",
        "",
        "- **text**: one umt5 pass over one caption padded to its "
        f"{PRESETS[args.preset].text_len} tokens; captions are cached per distinct string, so a step whose "
        "caption was seen before costs no text time. It is not part of either fps column.",
        "- **sampling**: the whole 4-step denoising of one chunk (per step in brackets), text and "
        "history embedded once per chunk.",
        "- **fps, sampling only** = video frames / sampling time (no VAE decode); **fps, with decode** "
        "= video frames / (sampling + VAE decode).",
        "- **peak GiB**: device memory allocated above the resident weights while that part runs "
        f"(n/a off CUDA). Weights (GiB): {weights}.",
        "",
        "| resolution | compile | quantize | tokens (history + chunk) | text ms | sampling ms (per step) "
        "| VAE decode ms | fps, sampling only | fps, with decode | peak GiB text / sampling / decode |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        hist, chunk = r["tokens"]
        lines.append(
            f"| {r['resolution']} | {r['compile']} | {r['quantize']} | {hist} + {chunk} | {r['text_s'] * 1e3:.1f} "
            f"| {r['sample_s'] * 1e3:.1f} ({r['sample_s'] * 1e3 / steps:.1f}) | {r['decode_s'] * 1e3:.1f} "
            f"| {r['frames'] / r['sample_s']:.2f} | {r['frames'] / (r['sample_s'] + r['decode_s']):.2f} "
            f"| {' / '.join(_gib(p) for p in r['peaks'])} |"
        )
    sizes = ",".join(r["resolution"] for r in rows[: len(args.resolutions)])
    lines += ["", f"Regenerate with `yume-gym bench yume5b --preset {args.preset} --device {device} "
              f"--resolutions {sizes} --compile {','.join(args.compile)} --quantize {','.join(args.quantize)}`.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows, facts = run(args)
    publish(render(args, rows, facts), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`yume-gym bench generator`: per-chunk latency over one episode, TSCM against full history.

Generates chunks 1..N of one episode with the 4-step sampler on a preset (default ``tiny``) in
three history modes: (a) TSCM with the channel branch, (b) TSCM without the channel branch,
(c) full uncompressed history. The history grows by the chunk's latents after every chunk.
Each chunk's text and history are embedded once (:meth:`YumeDiT.condition`) and reused by
its sampler steps, as the environments do. Prints a table of per-chunk latency (median of
``--repeats`` runs) with the number of history tokens each chunk attends to, and writes it
to ``<--out>/generator-grid<side>.md`` (default folder ``runs/bench``) with a plot beside it (``.png``).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from yume_gym.atomic_file import write_text_atomic
from yume_gym.model import build_generator, tscm
from yume_gym.options import option, parse_args
from yume_gym.sampling import RELEASED_SCHEDULE, sample

MODES = {
    "tscm": {"history_mode": "tscm", "channel_branch_active": True},
    "tscm-no-branch": {"history_mode": "tscm", "channel_branch_active": False},
    "full-history": {"history_mode": "full", "channel_branch_active": False},
}


def _episode_latencies(model, chunks: int, chunk_latents: int, grid: int) -> list[float]:
    """Seconds per chunk for chunks 1..``chunks`` of one text-started episode."""
    c = model.config
    g = torch.Generator().manual_seed(0)
    context = torch.randn(1, c.text_len, c.text_dim, generator=g)  # (1, L, text_dim)
    history = None  # (1, C, Hh, h, w) once the first chunk exists
    latencies = []
    for _ in range(chunks):
        noise = torch.randn(1, c.in_dim, chunk_latents, grid, grid, generator=g)  # (1, C, F, h, w)
        start = time.perf_counter()
        conditioning = model.condition(noise, context, history)
        chunk = sample(lambda x, t: model(x, t, conditioning=conditioning), noise, RELEASED_SCHEDULE)
        latencies.append(time.perf_counter() - start)
        history = chunk if history is None else torch.cat([history, chunk], dim=2)
    return latencies


def _write_plot(results: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for mode, latencies in results.items():
        ax.plot(range(1, len(latencies) + 1), [1000 * s for s in latencies], label=mode)
    ax.set_xlabel("chunk index in the episode")
    ax.set_ylabel("latency per chunk (ms)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@dataclass
class GeneratorArgs:
    preset: str = option("tiny", "generator preset")
    chunks: int = option(32, "chunks per episode")
    chunk_latents: int = option(8, "latent frames per chunk")
    grid: int = option(8, "latent grid side (8 = 64x64 video)")
    modes: str = option(",".join(MODES), f"comma-separated history modes of {list(MODES)}")
    repeats: int = option(3, "episodes per mode; the median is kept")
    threads: int | None = option(None, "torch threads (default: torch's)")
    out: Path = option(Path("runs/bench"), "output folder")

    def __post_init__(self) -> None:
        unknown = [m for m in self.modes.split(",") if m not in MODES]
        if unknown:
            raise ValueError(f"unknown --modes {unknown}; expected some of {list(MODES)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(GeneratorArgs, argv, "yume-gym bench generator", __doc__.split("\n")[0])
    modes = args.modes.split(",")
    if args.threads:
        torch.set_num_threads(args.threads)
    model = build_generator(args.preset).eval()
    results: dict[str, list[float]] = {}
    with torch.inference_mode():
        for mode in modes:
            model.configure(**MODES[mode])
            runs = [_episode_latencies(model, args.chunks, args.chunk_latents, args.grid)
                    for _ in range(args.repeats)]
            results[mode] = [statistics.median(r[i] for r in runs) for i in range(args.chunks)]
    table = _table(results, args, model.config.patch_size[1:])
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"generator-grid{args.grid}"
    write_text_atomic(args.out / f"{name}.md", table + "\n")
    _write_plot(results, args.out / f"{name}.png")
    return 0


def _table(results: dict[str, list[float]], args: GeneratorArgs, patch_hw: tuple[int, int]) -> str:
    shown = [i for i in (1, 2, 4, 8, 16, 24, 32) if i <= args.chunks]
    tokens_per_chunk = args.chunk_latents * (args.grid // patch_hw[0]) * (args.grid // patch_hw[1])
    lines = [
        f"# Generator latency per chunk ({args.preset}, {args.chunk_latents} latents a chunk, "
        f"{args.grid}x{args.grid} latent grid = {tokens_per_chunk} chunk tokens, 4 steps, "
        f"{torch.get_num_threads()} CPU threads, median of {args.repeats} episodes)",
        "",
        "| mode | " + " | ".join(f"chunk {i}" for i in shown) + " | last / chunk 8 |",
        "|---|" + "---:|" * (len(shown) + 1),
    ]
    for mode, latencies in results.items():
        cells = [f"{1000 * latencies[i - 1]:.1f} ms" for i in shown]
        ratio = latencies[-1] / latencies[min(8, args.chunks) - 1]
        lines.append(f"| {mode} | " + " | ".join(cells) + f" | {ratio:.2f} |")
        history_mode = MODES[mode]["history_mode"]
        counts = [tscm.history_token_count((i - 1) * args.chunk_latents, (args.grid, args.grid), patch_hw,
                                           history_mode) for i in shown]  # fmt: skip
        lines.append(f"| {mode}: history tokens | " + " | ".join(map(str, counts)) + " | |")
    lines += ["", "Command: `yume-gym bench generator " + " ".join(_argv_echo(args)) + "`"]
    return "\n".join(lines)


def _argv_echo(args: GeneratorArgs) -> list[str]:
    return [f"--preset {args.preset}", f"--chunks {args.chunks}", f"--chunk-latents {args.chunk_latents}",
            f"--grid {args.grid}", f"--modes {args.modes}", f"--repeats {args.repeats}",
            *([f"--threads {args.threads}"] if args.threads else [])]

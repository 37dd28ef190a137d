"""``yume-gym bench episode``: per-chunk latency of one world over a long episode, by history cap.

One ``YumeWorldEnv`` per history cap (``GenerationConfig.max_history_latents``: beyond it the
oldest latents after the first are dropped) steps through a long episode of random actions, the
envs taking turns step by step so that a shared machine's slow spells fall on all of them. The
history grows by one chunk's latents per step up to the cap, and the tokens it makes
(:func:`yume_gym.model.tscm.history_token_count`) with it, so the cap decides whether a step's
cost stays flat as the episode goes on. Prints a table of the median step time over
blocks of chunks with the history tokens each block ends on, and writes it to
``--out`` (default ``runs/bench/episode.md``; the repository keeps its tables in ``docs/benchmarks/``).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from yume_gym.commands.bench.common import PROMPT, machine, publish, sync
from yume_gym.env.single import YumeWorldEnv
from yume_gym.model import tscm
from yume_gym.options import option, parse_args
from yume_gym.world.bundle import WorldModel, load_world_model, with_generation


@dataclass
class EpisodeArgs:
    checkpoint: str | None = option(None, "world model directory (default: the embedded model)")
    device: str = option("cpu", "torch device")
    chunks: int = option(128, "steps of the episode")
    block: int = option(16, "chunks per block of the table (median over each)")
    caps: list[int] = option("0,64", "comma-separated history caps in latents (0: the model's own)", type=str)
    threads: int | None = option(None, "torch CPU threads (default: torch's choice)")
    out: str = option("runs/bench/episode.md", "markdown table to write ('' to skip)")

    def __post_init__(self) -> None:
        try:
            self.caps = [int(c) for c in self.caps.split(",") if c]
        except ValueError:
            raise ValueError(f"--caps {self.caps!r} must be comma-separated integers") from None
        if not self.caps or min(self.caps) < 0 or self.block < 1 or self.chunks < self.block:
            raise ValueError("--caps must be integers >= 0, --block >= 1 and --chunks >= --block")


def episode_seconds(models: list[WorldModel], chunks: int, device: str) -> list[list[float]]:
    """Wall-clock seconds of each of ``chunks`` steps of one env per model, random actions from
    seed 0. The envs step in turn, so a slow spell of a shared machine falls on all of them alike."""
    envs = [YumeWorldEnv(checkpoint=model, device=device) for model in models]  # no time limit: raw envs
    for env in envs:
        env.reset(seed=0, options={"prompt": PROMPT})
        env.action_space.seed(0)
    seconds: list[list[float]] = [[] for _ in envs]
    for _ in range(chunks):
        for env, times in zip(envs, seconds):
            action = env.action_space.sample()
            sync(device)
            t0 = time.perf_counter()
            env.step(action)
            sync(device)
            times.append(time.perf_counter() - t0)
    return seconds


def history_tokens(model: WorldModel, step: int) -> int:
    """Tokens of the history that step ``step`` (1-based) attends to: the opening chunk and the
    ``step - 1`` chunks after it, capped as the model's generation config says."""
    latents = model.generation.chunk_latents * step
    cap = model.max_history_latents
    kept = latents if cap is None else min(latents, cap)
    latent_hw = model.chunk_latent_shape[2:]
    return tscm.history_token_count(kept, latent_hw, model.generator.config.patch_size[1:])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = parse_args(EpisodeArgs, argv, "yume-gym bench episode", __doc__.splitlines()[0])
    if args.threads:
        torch.set_num_threads(args.threads)
    base = load_world_model(args.checkpoint, device=args.device)
    blocks = [(start, min(start + args.block, args.chunks)) for start in range(0, args.chunks, args.block)]
    header = " | ".join(f"chunks {a + 1}-{b}" for a, b in blocks)
    lines = [
        "# Step latency over a long episode, by history cap",
        "",
        (f"Model: {base.describe()}. Device: {args.device} ({machine(args.device)}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads. One `YumeWorldEnv` per cap, {args.chunks} steps of random actions "
        f"from a text start, the envs stepping in turn; each cell is the median step time (ms) over its block of chunks, with the "
        "history tokens the block's last step attends to below it."),
        "",
        f"| history cap (latents) | {header} | last block / first |",
        "|---|" + "---:|" * (len(blocks) + 1),
    ]
    models = [base if cap == 0 else with_generation(base, max_history_latents=cap) for cap in args.caps]
    episode_seconds(models, 2, args.device)  # warm-up
    for model, seconds in zip(models, episode_seconds(models, args.chunks, args.device)):
        medians = [statistics.median(seconds[a:b]) * 1000 for a, b in blocks]
        tokens = [history_tokens(model, b) for _, b in blocks]
        name = model.max_history_latents if model.max_history_latents is not None else "none"
        lines.append(f"| {name} | " + " | ".join(f"{m:.1f}" for m in medians) + f" | {medians[-1] / medians[0]:.2f} |")
        lines.append(f"| {name}: history tokens | " + " | ".join(map(str, tokens)) + " | |")
    lines += [
        "",
        (f"Regenerate with `yume-gym bench episode --chunks {args.chunks} --block {args.block} "
        f"--caps {','.join(map(str, args.caps))}`."),
        "",
    ]
    publish("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

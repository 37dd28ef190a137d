"""``yume-gym bench env``: throughput of the world-model env, single and batched.

Measures the single env (steps/s and generated frames/s) and the vector env for several N
(one batched forward per step for all N worlds), and its speedup over stepping N separate
single envs (N times the single-env step time). Prints a table and writes it to
``--out`` (default ``runs/bench/env.md``; the repository keeps its tables in ``docs/benchmarks/``).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from yume_gym.commands.bench.common import PROMPT, machine, publish, sync
from yume_gym.env.single import YumeWorldEnv
from yume_gym.env.core import StepTimings
from yume_gym.env.vector import YumeWorldVectorEnv
from yume_gym.options import option, parse_args
from yume_gym.world.bundle import load_world_model


@dataclass
class EnvArgs:
    checkpoint: str | None = option(None, "world model directory (default: the embedded model)")
    device: str = option("cpu", "torch device")
    sizes: list[int] = option("1,2,4,8,16", "comma-separated vector env sizes N", type=str)
    steps: int = option(8, "timed steps per measurement")
    warmup: int = option(2, "untimed steps before each measurement")
    threads: int | None = option(None, "torch CPU threads (default: torch's choice)")
    out: str = option("runs/bench/env.md", "markdown table to write ('' to skip)")

    def __post_init__(self) -> None:
        try:
            self.sizes = [int(s) for s in self.sizes.split(",") if s]
        except ValueError:
            raise ValueError(f"--sizes {self.sizes!r} must be comma-separated integers, e.g. 1,2,4") from None
        if not self.sizes or min(self.sizes) < 1 or self.steps < 1 or self.warmup < 0:
            raise ValueError("--sizes must be positive integers, --steps >= 1, --warmup >= 0")


def time_steps(env, steps: int, warmup: int, device: str) -> dict[str, float]:
    """Median seconds per ``env.step`` (and its sampling and decoding parts) with random actions.

    ``warmup`` untimed steps come first. The median keeps the figure honest on a shared
    machine, where a few steps can stall.
    """
    env.action_space.seed(0)
    times: dict[str, list[float]] = {"step": [], "sample": [], "decode": []}
    for i in range(warmup + steps):
        action = env.action_space.sample()
        sync(device)
        t0 = time.perf_counter()
        info = env.step(action)[4]
        sync(device)
        if i >= warmup:
            timings = info["timings"] if isinstance(info["timings"], StepTimings) else info["timings"][0]
            times["step"].append(time.perf_counter() - t0)
            times["sample"].append(timings.sample_s)
            times["decode"].append(timings.decode_s)
    return {key: statistics.median(values) for key, values in times.items()}


def time_single(args: EnvArgs) -> dict[str, float]:
    """Median timings of one YumeWorldEnv (a fresh episode, random actions)."""
    env = YumeWorldEnv(checkpoint=args.checkpoint, device=args.device)
    env.reset(seed=0, options={"prompt": PROMPT})
    return time_steps(env, args.steps, args.warmup, args.device)


def time_vector(args: EnvArgs, n: int) -> dict[str, float]:
    """Median timings of a YumeWorldVectorEnv of ``n`` worlds (no episode ends)."""
    envs = YumeWorldVectorEnv(n, checkpoint=args.checkpoint, device=args.device)
    envs.reset(seed=0, options={"prompt": PROMPT})
    return time_steps(envs, args.steps, args.warmup, args.device)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = parse_args(EnvArgs, argv, "yume-gym bench env", __doc__.splitlines()[0])
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_world_model(args.checkpoint, device=args.device)
    frames = model.chunk_frames
    single = time_single(args)
    rows = [(n, time_vector(args, n)) for n in args.sizes]
    step = single["step"]
    lines = [
        "# World-model env throughput",
        "",
        f"Model: {model.describe()}. Device: {args.device} ({machine(args.device)}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads. "
        f"Median of {args.steps} timed steps after {args.warmup} warm-up steps, random actions; "
        "the history grows during the run.",
        "",
        f"Single env (`YumeWorldEnv`): {1 / step:.2f} steps/s, {frames / step:.1f} generated frames/s "
        f"({step * 1000:.1f} ms per {frames}-frame chunk: sampling {single['sample'] * 1000:.1f} ms, "
        f"decoding {single['decode'] * 1000:.1f} ms).",
        "",
        "| N | step (ms) | env steps/s | frames/s | speedup vs N single envs "
        "| sampling (ms/world) | decoding (ms/world) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, t in rows:
        lines.append(
            f"| {n} | {t['step'] * 1000:.1f} | {n / t['step']:.2f} | {n * frames / t['step']:.1f} "
            f"| {n * step / t['step']:.2f}x | {t['sample'] * 1000 / n:.1f} | {t['decode'] * 1000 / n:.1f} |"
        )
    lines += [
        "",
        "The vector env samples all N chunks in one batched generator pass per denoising step; the "
        "speedup column compares it with N separate single envs (N x the single-env step time). "
        "On a CPU the codec decodes row by row (faster there than in one batch), so only the "
        "sampling column gains from batching.",
        "",
        f"Regenerate with `yume-gym bench env --sizes {','.join(map(str, args.sizes))} --steps {args.steps}`.",
        "",
    ]
    publish("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

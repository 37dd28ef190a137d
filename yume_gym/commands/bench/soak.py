"""``yume-gym bench soak``: one world-model env stepped for a long run with periodic resets.

Steps a single ``YumeWorldEnv`` with random actions, resetting every ``--reset-every`` steps, and
samples the process's resident memory (RSS) at checkpoints and the step times in blocks, to
show that memory stays flat and steps do not slow down over a long run. Prints a table and
writes it to ``--out`` (default ``runs/bench/soak.md``).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from yume_gym.commands.bench.common import PROMPT, machine, publish
from yume_gym.env.single import YumeWorldEnv
from yume_gym.options import option, parse_args


@dataclass
class SoakArgs:
    checkpoint: str | None = option(None, "world model directory (default: the embedded model)")
    steps: int = option(10_000, "steps in the whole run")
    reset_every: int = option(50, "steps per episode")
    memory_at: list[int] = option("0,100,2500,5000,7500,10000", "steps at which to sample RSS", type=str)
    block: int = option(500, "steps per step-time median")
    threads: int = option(1, "torch CPU threads")
    out: str = option("runs/bench/soak.md", "markdown table to write ('' to skip)")

    def __post_init__(self) -> None:
        try:
            self.memory_at = sorted({int(s) for s in self.memory_at.split(",") if s})
        except ValueError:
            raise ValueError(f"--memory-at must be comma-separated step counts, got {self.memory_at!r}") from None
        if self.steps < 1 or self.reset_every < 1 or self.block < 1 or self.threads < 1:
            raise ValueError("--steps, --reset-every, --block and --threads must be >= 1")


def resident_mb() -> float:
    """This process's resident memory in MB (needs psutil, in the [test] extra)."""
    try:
        import psutil
    except ImportError as err:
        raise ImportError("bench soak needs psutil: pip install 'yume-gym[test]' (or pip install psutil)") from err
    return psutil.Process().memory_info().rss / 2**20


def soak(args: SoakArgs) -> tuple[dict[int, float], list[float]]:
    """Run the soak; returns RSS (MB) by step count and every step's seconds."""
    env = YumeWorldEnv(checkpoint=args.checkpoint)
    env.action_space.seed(0)
    memory: dict[int, float] = {}
    step_s: list[float] = []
    for i in range(args.steps + 1):
        if i in args.memory_at:
            memory[i] = resident_mb()
            print(f"step {i}: RSS {memory[i]:.1f} MB", flush=True)
        if i == args.steps:
            break
        if i % args.reset_every == 0:
            env.reset(seed=i, options={"prompt": PROMPT})
        t0 = time.perf_counter()
        env.step(env.action_space.sample())
        step_s.append(time.perf_counter() - t0)
        if len(step_s) % args.block == 0:
            print(f"steps {len(step_s) - args.block + 1}-{len(step_s)}: median "
                  f"{statistics.median(step_s[-args.block:]) * 1000:.1f} ms", flush=True)
    return memory, step_s


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = parse_args(SoakArgs, argv, "yume-gym bench soak", __doc__.splitlines()[0])
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    memory, step_s = soak(args)
    minutes = (time.perf_counter() - start) / 60
    blocks = [step_s[i : i + args.block] for i in range(0, len(step_s), args.block)]
    medians = [statistics.median(b) * 1000 for b in blocks]
    first, last = min(memory), max(memory)
    warm = sorted(memory)[1] if len(memory) > 2 else first
    lines = [
        "# Soak: one env over a long run",
        "",
        f"One `YumeWorldEnv` (embedded model unless a checkpoint is named), device cpu "
        f"({machine('cpu')}), torch {torch.__version__}, {torch.get_num_threads()} thread(s). "
        f"{args.steps} steps of random actions, a reset (new seed, text start) every "
        f"{args.reset_every} steps; {minutes:.1f} minutes in all on a shared machine.",
        "",
        "| steps done | resident memory (MB) |",
        "|---:|---:|",
        *(f"| {step} | {mb:.1f} |" for step, mb in sorted(memory.items())),
        "",
        "| steps | median step (ms) |",
        "|---|---:|",
        *(f"| {i * args.block + 1}-{i * args.block + len(b)} | {m:.1f} |" for i, (b, m) in enumerate(zip(blocks, medians))),
        "",
        f"Last block / first block step time: {medians[-1] / medians[0]:.2f} (wall-clock medians: on a "
        "shared machine a block's median also measures what else ran then). "
        f"Memory growth from step {first} to {last}: {memory[last] - memory[first]:+.1f} MB; from step {warm} "
        f"(after the first episodes warmed up) to {last}: {memory[last] - memory[warm]:+.1f} MB.",
        "",
        f"Regenerate with `yume-gym bench soak --steps {args.steps} --reset-every {args.reset_every} --out {args.out}`.",
        "",
    ]
    publish("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

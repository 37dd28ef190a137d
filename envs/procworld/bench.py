"""``yume-gym bench procworld``: frames per second of the procedural world on one CPU core.

For each frame size it times, over several random scenes and random actions held for a step:

- the simulator (:meth:`procworld.sim.ProcWorld.advance`, chunks of ``--frames-per-step``) in
  clear weather and in a storm or snowfall (falling rain and snow add a screen-space pass);
- the Gymnasium env (:class:`procworld.env.ProcWorldEnv`), whose steps also build the info:
  object states, pixel counts and captions.

The renderer uses numpy only, whose element-wise loops run on one thread. To keep BLAS and
torch (imported with the package) to one thread as well, the benchmark sets
``torch.set_num_threads(1)`` and, when ``threadpoolctl`` is installed, limits every native
thread pool to 1; without it, set ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1``
before starting. The table reports the CPU time over wall time of the timed runs, which is
about 1.0 when one core did the work. Each figure is the best of ``--repeats`` runs, which
keeps it honest on a shared machine. Prints the table and writes it to
``--out`` (default ``runs/bench/procworld.md``).
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from procworld.captions import scene_caption
from procworld.env import ProcWorldEnv
from procworld.scene import build_scene, random_spec
from procworld.sim import ProcWorld
from yume_gym.atomic_file import write_text_atomic
from yume_gym.options import option, parse_args


@dataclass
class ProcWorldBenchArgs:
    sizes: list[int] = option("64,128", "comma-separated square frame sizes", type=str)
    frames_per_step: int = option(8, "frames per chunk (env step)")
    steps: int = option(30, "timed steps per scene")
    scenes: int = option(4, "random scenes per measurement")
    repeats: int = option(3, "runs per figure; the best one counts")
    out: str = option("runs/bench/procworld.md", "markdown table to write ('' to skip)")

    def __post_init__(self) -> None:
        try:
            self.sizes = [int(s) for s in self.sizes.split(",") if s]
        except ValueError:
            raise ValueError(f"--sizes {self.sizes!r} must be comma-separated integers") from None
        counts = (self.frames_per_step, self.steps, self.scenes, self.repeats)
        if not self.sizes or min(self.sizes) < 8 or min(counts) < 1:
            raise ValueError("--sizes must be integers >= 8; --frames-per-step, --steps, --scenes, --repeats >= 1")


def one_thread() -> tuple[contextlib.AbstractContextManager, str]:
    """Limit torch and (with threadpoolctl) every native thread pool to one thread.

    Returns the context that holds the limit and a sentence saying how threads were limited.
    """
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        note = "threadpoolctl not installed: BLAS pools as the environment set them (the renderer makes no BLAS calls)"
        return contextlib.nullcontext(), note
    return threadpool_limits(limits=1), "native thread pools limited to 1 by threadpoolctl"


def best_rate(run: Callable[[], int], repeats: int) -> tuple[float, float]:
    """(frames per second, CPU time / wall time) of the fastest of ``repeats`` calls of ``run``."""
    best, load = 0.0, 0.0
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        frames = run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if frames / wall > best:
            best, load = frames / wall, cpu / wall
    return best, load


def time_world(size: int, args: ProcWorldBenchArgs, weather: bool) -> Callable[[], int]:
    """A run of ProcWorld.advance over ``args.scenes`` scenes; with ``weather``, in rain or snow."""
    worlds = []
    for i in range(args.scenes):
        rng = np.random.default_rng(i)
        world = ProcWorld(build_scene(random_spec(rng), i), (size, size))
        if weather:
            world.trigger("a storm rolls in" if i % 2 else "it starts to snow")
        world.advance([0] * 32)  # warm up, and let the weather come in fully
        worlds.append((world, rng.integers(0, 81, size=args.steps)))

    def run() -> int:
        for world, actions in worlds:
            for a in actions:
                world.advance([int(a)] * args.frames_per_step)
        return args.scenes * args.steps * args.frames_per_step

    return run


def time_env(size: int, args: ProcWorldBenchArgs) -> Callable[[], int]:
    """A run of ProcWorldEnv.step over ``args.scenes`` episodes with random actions, in scenes of
    the same captions as :func:`time_world` (laid out from other seeds)."""
    env = ProcWorldEnv(size=size, frames_per_step=args.frames_per_step)

    prompts = [scene_caption(random_spec(np.random.default_rng(i))) for i in range(args.scenes)]

    def run() -> int:
        for i, prompt in enumerate(prompts):
            env.reset(seed=i, options={"prompt": prompt})  # the simulator's scene specs, other layouts
            for a in np.random.default_rng(i).integers(0, 81, size=args.steps):
                env.step(int(a))
        return args.scenes * args.steps * args.frames_per_step

    return run


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = parse_args(ProcWorldBenchArgs, argv, "yume-gym bench procworld", __doc__.splitlines()[0])
    rows = []
    limit, thread_note = one_thread()
    with limit:
        for size in args.sizes:
            clear = best_rate(time_world(size, args, False), args.repeats)
            wet = best_rate(time_world(size, args, True), args.repeats)
            env = best_rate(time_env(size, args), args.repeats)
            rows.append((size, clear, wet, env))
    n = args.frames_per_step
    lines = [
        "# Procedural world throughput",
        "",
        (
            f"One CPU core ({platform.machine()}, {os.cpu_count()} CPUs on the machine), numpy {np.__version__}, "
            f"Python {platform.python_version()}. Chunks of {n} frames with a random action held per chunk, "
            f"{args.scenes} random scenes x {args.steps} steps per run, best of {args.repeats} runs. "
            "CPU/wall is the process CPU time over wall time of that run (1.0 = one busy core). "
            f"Threads: torch set to 1; {thread_note}."
        ),
        "",
        (
            "| frame size | simulator, clear (frames/s) | simulator, rain or snow (frames/s) "
            f"| env.step (frames/s) | env.step (ms per {n}-frame step) | CPU/wall |"
        ),
        "|---|---:|---:|---:|---:|---:|",
    ]
    for size, clear, wet, env in rows:
        lines.append(
            f"| {size}x{size} | {clear[0]:,.0f} | {wet[0]:,.0f} | {env[0]:,.0f} | {n * 1000 / env[0]:.2f} "
            f"| {max(clear[1], wet[1], env[1]):.2f} |"
        )
    lines += [
        "",
        (
            "The simulator column is the renderer with the camera and weather logic "
            "(`ProcWorld.advance`); the env column adds what a Gymnasium step builds on top "
            "(true object states with pixel counts, captions, info)."
        ),
        "",
        f"Regenerate with `yume-gym bench procworld --sizes {','.join(map(str, args.sizes))}`.",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        write_text_atomic(args.out, table)
        print(f"wrote {args.out}")
    return 0

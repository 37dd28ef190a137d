"""``yume-gym bench step``: the whole ``env.step`` of one world, under the fast-step options.

Times ``YumeWorldEnv.step`` (text, sampling, decoding and the env's own work: observation,
info, reward) with: the defaults; ``return_frames=False``; that with latent observations (no
decoding); and the DiT blocks compiled (on its own copy of the model). Each setting runs an
episode from one seed with the same actions, the settings taking turns step by step so that a
shared machine's slow spells fall on all of them. Writes ``--out`` (default ``runs/bench/step.md``).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch

from yume_gym.actions import NUM_ACTIONS
from yume_gym.commands.bench.common import PROMPT, machine, publish, sync
from yume_gym.env.single import YumeWorldEnv
from yume_gym.options import option, parse_args
from yume_gym.world.bundle import (
    EMBEDDED_DIR,
    MANIFEST,
    WorldModel,
    build_world_model,
    load_world_model,
    read_world_model,
    with_generation,
)

# name -> (env keyword arguments, GenerationConfig.compile)
SETTINGS = {
    "defaults (info[\"frames\"], eager)": ({}, None),
    "return_frames=False": ({"return_frames": False}, None),
    "return_frames=False, observation=\"latent\" (no decoding)": ({"return_frames": False, "observation": "latent"}, None),
    "compile=\"default\" (blocks compiled)": ({}, "default"),
}


@dataclass
class StepArgs:
    checkpoint: str | None = option(None, "world model directory (default: the embedded model)")
    device: str = option("cpu", "torch device", type=str)
    steps: int = option(16, "timed steps per setting")
    warmup: int = option(2, "untimed steps first (compilation happens here)")
    threads: int = option(2, "torch CPU threads")
    settings: list[str] = option(",".join(str(i) for i in range(len(SETTINGS))),
                                 f"comma-separated indices into the settings: {list(SETTINGS)}", type=str)
    out: str = option("runs/bench/step.md", "markdown table to write ('' to skip)")

    def __post_init__(self) -> None:
        try:
            picked = [int(i) for i in self.settings.split(",") if i]
        except ValueError:
            raise ValueError(f"--settings {self.settings!r} must be comma-separated integers") from None
        if not picked or not all(0 <= i < len(SETTINGS) for i in picked) or self.steps < 1 or self.warmup < 0:
            raise ValueError(f"--settings must pick from 0..{len(SETTINGS) - 1}; --steps >= 1, --warmup >= 0")
        self.settings = [list(SETTINGS)[i] for i in picked]


def _fresh_copy(args: StepArgs) -> WorldModel:
    """A copy of the benchmarked model that shares nothing with the cached one (compiling
    acts on the generator, so the eager settings keep their own)."""
    if args.checkpoint is None and not (EMBEDDED_DIR / MANIFEST).is_file():
        return build_world_model(live_head=True, device=args.device)  # the random stand-in
    return read_world_model(args.checkpoint or EMBEDDED_DIR, device=args.device)


def time_in_turns(envs: dict[str, YumeWorldEnv], steps: int, warmup: int, device: str) -> dict[str, dict[str, float]]:
    """Median seconds of each env's ``step`` (wall and CPU time of this process, and the sampling
    and decoding parts), the envs taking turns: ``warmup`` untimed rounds, then ``steps`` timed
    ones, the same actions in all."""
    rng = np.random.default_rng(0)
    times = {name: {"step": [], "cpu": [], "sample": [], "decode": []} for name in envs}
    for i in range(warmup + steps):
        action = int(rng.integers(NUM_ACTIONS))
        for name, env in envs.items():
            sync(device)
            t0, cpu0 = time.perf_counter(), time.process_time()
            timings = env.step(action)[4]["timings"]
            sync(device)
            if i >= warmup:
                times[name]["step"].append(time.perf_counter() - t0)
                times[name]["cpu"].append(time.process_time() - cpu0)
                times[name]["sample"].append(timings.sample_s)
                times[name]["decode"].append(timings.decode_s)
    return {name: {k: statistics.median(v) for k, v in t.items()} for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = parse_args(StepArgs, argv, "yume-gym bench step", __doc__.splitlines()[0])
    torch.set_num_threads(args.threads)
    model = load_world_model(args.checkpoint, device=args.device)
    envs = {}
    for name in args.settings:
        env_kwargs, compile_mode = SETTINGS[name]
        own = model if compile_mode is None else with_generation(_fresh_copy(args), compile=compile_mode)
        envs[name] = YumeWorldEnv(checkpoint=own, device=args.device, **env_kwargs)
        envs[name].reset(seed=0, options={"prompt": PROMPT})
    load_before = os.getloadavg()[0]
    results = time_in_turns(envs, args.steps, args.warmup, args.device)
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    base, base_cpu = results[args.settings[0]]["step"], results[args.settings[0]]["cpu"]
    lines = [
        "# The whole env.step of one world",
        "",
        f"Model: {model.describe()}. Device: {args.device} ({machine(args.device)}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads. Median of {args.steps} timed `env.step` calls after {args.warmup} "
        "warm-up steps, one episode per setting (same seed, same random actions, so the same history "
        "lengths), the settings taking turns step by step. **step** is the whole `env.step` (text, "
        "sampling, decoding, observation, info); sampling and decoding are its parts as the env reports "
        "them; **step CPU** is the CPU time this process spent in the step (all its threads), which other "
        f"processes on a shared machine disturb less than wall time. Load average: {load}.",
        "",
        f"| setting | step ms | sampling ms | decoding ms | step CPU ms | step vs {args.settings[0]} "
        "| step CPU vs it |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, t in results.items():
        lines.append(f"| {name} | {t['step'] * 1e3:.1f} | {t['sample'] * 1e3:.1f} | {t['decode'] * 1e3:.1f} "
                     f"| {t['cpu'] * 1e3:.1f} | {t['step'] / base:.2f}x | {t['cpu'] / base_cpu:.2f}x |")
    lines += ["", f"Regenerate with `yume-gym bench step --threads {args.threads} --steps {args.steps} "
              f"--warmup {args.warmup} --out {args.out}`.", ""]
    publish("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

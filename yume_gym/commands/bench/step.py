"""``yume-gym bench step``: the whole ``env.step`` of one world, under the fast-step options.

Times ``YumeWorldEnv.step`` (text, sampling, decoding and the env's own work: observation,
info, reward) with: the defaults; ``return_frames=False``; that with latent observations (no
decoding); and the DiT blocks compiled (on its own copy of the model). Each setting runs an
episode from one seed with the same actions, the settings taking turns step by step so that a
shared machine's slow spells fall on all of them. Writes ``--out`` (default ``runs/bench/step.md``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from yume_gym.actions import NUM_ACTIONS
from yume_gym.commands.bench.common import PROMPT, machine, publish, sync
from yume_gym.env.single import YumeWorldEnv
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="yume-gym bench step", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None, help="world model directory (default: the embedded model)")
    p.add_argument("--device", default="cpu", help="torch device")
    p.add_argument("--steps", type=int, default=16, help="timed steps per setting")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (compilation happens here)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--settings", default=",".join(str(i) for i in range(len(SETTINGS))),
                   help=f"comma-separated indices into the settings: {list(SETTINGS)}")
    p.add_argument("--out", default="runs/bench/step.md", help="markdown table to write ('' to skip)")
    args = p.parse_args(argv)
    try:
        picked = [int(i) for i in args.settings.split(",") if i]
    except ValueError:
        p.error(f"--settings {args.settings!r} must be comma-separated integers")
    if not picked or not all(0 <= i < len(SETTINGS) for i in picked) or args.steps < 1 or args.warmup < 0:
        p.error(f"--settings must pick from 0..{len(SETTINGS) - 1}; --steps >= 1, --warmup >= 0")
    args.settings = [list(SETTINGS)[i] for i in picked]
    return args


def _fresh_copy(args: argparse.Namespace) -> WorldModel:
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
    args = parse_args(argv)
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
              f"--warmup {args.warmup}`.", ""]
    publish("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``yume-gym bench remote``: env steps/s through one Ray world server against in-process envs.

For K clients (separate envs, each stepped by its own thread) sharing one server, measures
env steps/s, the server's mean batch and where a batch's time goes, against the in-process
vector env of K rows and K single envs stepped one after the other. Writes the table to
``runs/bench/remote.md`` (``--out``; the committed table is docs/benchmarks/remote.md).
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

import torch

from yume_gym.commands.bench.common import PROMPT, machine, publish
from yume_gym.commands.bench.env import time_steps
from yume_gym.env.remote.pool import WorldServerPool, require, start_servers
from yume_gym.env.single import YumeWorldEnv
from yume_gym.env.vector import YumeWorldVectorEnv
from yume_gym.options import option, parse_args
from yume_gym.world.bundle import load_world_model


@dataclass
class RemoteArgs:
    checkpoint: str | None = option(None, "world model directory (default: the embedded model)")
    clients: list[int] = option("1,4,16", "comma-separated numbers of clients K", type=str)
    steps: int = option(8, "timed steps per client (and per in-process env)")
    warmup: int = option(2, "untimed steps before each measurement")
    rounds: int = option(3, "rounds of every measurement; medians are shown")
    threads: int = option(1, "torch CPU threads, in this process and in the server")
    window_ms: float = option(10.0, "the server's batching window")
    out: str = option("runs/bench/remote.md", "markdown table to write ('' to skip)")

    def __post_init__(self) -> None:
        self.clients = [int(k) for k in self.clients.split(",") if k]
        if not self.clients or min(self.clients) < 1 or min(self.steps, self.threads, self.rounds) < 1 or self.warmup < 0:
            raise ValueError("--clients must be positive integers, --steps, --threads and --rounds >= 1, --warmup >= 0")


def time_clients(pool: WorldServerPool, k: int, args: RemoteArgs) -> dict[str, float]:
    """K envs on the server, each stepped ``warmup + steps`` times by its own thread."""
    envs = [YumeWorldEnv(server=pool) for _ in range(k)]
    for i, env in enumerate(envs):
        env.reset(seed=i, options={"prompt": PROMPT})
    warm, timed = threading.Barrier(k + 1), threading.Barrier(k + 1)

    def play(env: YumeWorldEnv) -> None:
        for step in range(args.warmup + args.steps):
            if step == args.warmup:
                warm.wait()
                timed.wait()
            env.step(9)

    threads = [threading.Thread(target=play, args=(env,)) for env in envs]
    for t in threads:
        t.start()
    warm.wait()
    pool.reset_stats()
    timed.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    (stats,) = pool.stats().values()
    for env in envs:
        env.close()
    per_batch = {name: getattr(stats, name) / stats.batches for name in ("sample_s", "decode_s", "text_s", "step_s")}
    return {"steps_per_s": k * args.steps / wall, "mean_batch": stats.mean_batch,
            "batch_wall": wall / stats.batches, **per_batch}


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def measure(args: RemoteArgs, model, pool: WorldServerPool):
    """Medians over the rounds: the single env's step (s), the vector env's and the server's figures per K."""
    singles, vectors, remotes = [], {k: [] for k in args.clients}, {k: [] for k in args.clients}
    for _ in range(args.rounds):  # rounds interleave the setups, so load from other processes hits them alike
        single = YumeWorldEnv(checkpoint=model)
        single.reset(seed=0, options={"prompt": PROMPT})
        singles.append(time_steps(single, args.steps, args.warmup, "cpu")["step"])
        for k in args.clients:
            envs = YumeWorldVectorEnv(k, checkpoint=model)
            envs.reset(seed=0, options={"prompt": PROMPT})
            vectors[k].append(k / time_steps(envs, args.steps, args.warmup, "cpu")["step"])
            run = time_clients(pool, k, args)
            remotes[k].append({**run, "vs_vector": run["steps_per_s"] / vectors[k][-1]})
    return (statistics.median(singles), {k: statistics.median(v) for k, v in vectors.items()},
            {k: median_of(runs) for k, runs in remotes.items()})


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    args = parse_args(RemoteArgs, argv, "yume-gym bench remote", __doc__.splitlines()[0])
    ray = require("ray")
    torch.set_num_threads(args.threads)
    model = load_world_model(args.checkpoint)
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    pool = start_servers(1, checkpoint=args.checkpoint, rows=max(args.clients), threads=args.threads,
                         num_cpus_per_server=0, window_s=args.window_ms / 1000, name="bench-world-server")
    single_step, vector, remote = measure(args, model, pool)
    pool.shutdown()
    publish(report(args, model, ray.__version__, single_step, vector, remote), args.out)
    return 0


def report(args, model, ray_version: str, single_step: float, vector: dict, remote: dict) -> str:
    """The markdown page of the measurements."""
    lo, hi = min(args.clients), max(args.clients)
    hop_ms = (remote[lo]["batch_wall"] - remote[lo]["step_s"]) * 1000
    per_row = {k: {part: remote[k][f"{part}_s"] * 1000 / remote[k]["mean_batch"] for part in ("sample", "decode")}
               for k in (lo, hi)}
    lines = [
        "# Env steps through a Ray world server",
        "",
        f"Model: {model.describe()}. Device: cpu ({machine('cpu')}), torch {torch.__version__}, "
        f"{args.threads} torch thread(s) in this process and in the server, Ray {ray_version} (local). "
        f"K clients = K `YumeWorldEnv(server=pool)`, each stepped by its own thread of this process, "
        f"{args.steps} timed steps each after {args.warmup} warm-up steps; medians of {args.rounds} rounds that "
        "interleave all setups. The server batches for up to "
        f"{args.window_ms:g} ms or until every attached row has asked. In-process: the median step of "
        f"`YumeWorldVectorEnv(K)`; K single envs stepped in turn run at the single "
        f"env's rate ({single_step * 1000:.1f} ms a step).",
        "",
        "| K | server: env steps/s | vector env: steps/s | K single envs: steps/s | server / vector "
        "| mean batch | batch wall (ms) | server step (ms) | sampling (ms) | decoding (ms) | text (ms) "
        "| hop + wait (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in args.clients:
        r, v = remote[k], vector[k]
        lines.append(
            f"| {k} | {r['steps_per_s']:.2f} | {v:.2f} | {1 / single_step:.2f} | {r['vs_vector']:.2f}x "
            f"| {r['mean_batch']:.2f} | {r['batch_wall'] * 1000:.1f} | {r['step_s'] * 1000:.1f} "
            f"| {r['sample_s'] * 1000:.1f} | {r['decode_s'] * 1000:.1f} | {r['text_s'] * 1000:.1f} "
            f"| {(r['batch_wall'] - r['step_s']) * 1000:.1f} |"
        )
    lines += [
        "",
        f"Per-step overhead of the Ray hop at K={lo}: {hop_ms:.1f} ms (a client's wall time per "
        "batch minus the server's time in the batched core call: serialization, the object store, scheduling).",
        "Batch wall = the timed run's wall time / batches run; server step = the batched `WorldEnvCore.step` "
        "(sampling + decoding + text encoding + rewards and observations); hop + wait = batch wall - server step "
        "(transfers, the batching window, and clients arriving late). Server / vector is the median of "
        "each round's ratio.",
        "",
        f"Per row, K={hi} against K={lo}: sampling {per_row[hi]['sample']:.1f} against "
        f"{per_row[lo]['sample']:.1f} ms ({per_row[lo]['sample'] / per_row[hi]['sample']:.2f}x from batching), "
        f"decoding {per_row[hi]['decode']:.1f} against {per_row[lo]['decode']:.1f} ms (the CPU decodes row by row).",
        "",
        f"Regenerate with `yume-gym bench remote --clients {','.join(map(str, args.clients))} --steps {args.steps} "
        f"--rounds {args.rounds}`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

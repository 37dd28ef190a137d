"""Learning curves: every saved checkpoint of some training runs scored in ProcWorld, as CSV and PNG.

    yume-gym agents curves --task reach-red \\
        --runs "ppo-yume=runs/agents/yume-reach-red-s*,ppo-procworld=runs/agents/procworld-reach-red-s*"

A ``--runs`` entry is ``label=glob`` over run directories of :mod:`agents.train_ppo` (one per
seed). Each checkpoint (``checkpoints/step-*.zip`` and ``final.zip``) plays the same
``--episodes`` held-out ProcWorld episodes as :mod:`agents.evaluate`; the baselines play them
once. Writes ``curves.csv`` (one row per checkpoint: label, run, env steps, success rate, mean
return and length) and ``curves.png``: left, held-out ProcWorld success against env steps (the
mean over seeds, the band their range; baselines as lines); right, each label's training return
in its own world, from the runs' ``episodes.csv`` (smoothed).
"""

from __future__ import annotations

import csv
import glob
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .baselines import make_baseline
from .callbacks import saved_checkpoints
from .evaluate import Unit, evaluate_unit, held_out_episodes, load_policy, write_csv
from .worlds import AgentView, make_vec_env
from yume_gym.atomic_file import atomic_path
from yume_gym.env.tasks import TASK_NAMES, make_task
from yume_gym.options import option, parse_args
from yume_gym.world.bundle import load_world_model

CURVE_FIELDS = ("label", "run", "env_steps", "success", "return", "length")


@dataclass
class CurveArgs:
    task: str = option("reach-red", f"the task: one of {', '.join(TASK_NAMES)}")
    runs: str = option("", "training runs as 'label=glob[,label=glob...]' over run directories (one per seed)")
    baselines: str = option("random,scripted", "reference agents drawn as horizontal lines")
    episodes: int = option(20, "held-out ProcWorld episodes per checkpoint")
    seed: int = option(0, "seed of the held-out episodes")
    checkpoint: str | None = option(None, "world model bundle the runs were matched to (default: embedded)")
    device: str = option("cpu", "device of the world model")
    policy_device: str = option("cpu", "device of the policies")
    action_space: str = option("compact", "action space the runs were trained with")
    obs_size: int = option(64, "observation side the runs were trained with")
    frame_stack: int = option(4, "frame stack the runs were trained with")
    episode_steps: int = option(0, "episode length; 0 for the task's")
    out: str = option("runs/agents/curves", "output directory")
    progress: bool = option(True, "show progress bars")

    def __post_init__(self) -> None:
        make_task(self.task)
        if self.episodes < 1:
            raise ValueError("--episodes must be >= 1")

    @property
    def view(self) -> AgentView:
        return AgentView(self.task, self.action_space, self.obs_size, self.frame_stack, self.episode_steps or None)


def run_checkpoints(run: Path) -> list[tuple[int, Path]]:
    """(env steps, path) of every saved agent of a run directory, in order of env steps."""
    found = saved_checkpoints(run / "checkpoints")
    summary = run / "run.json"
    if (run / "final.zip").is_file() and summary.is_file():
        found.append((int(json.loads(summary.read_text())["env_steps"]), run / "final.zip"))
    return sorted(dict(found).items())


def curve_rows(args: CurveArgs) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """(one row per checkpoint, the baselines' success rates) on the held-out ProcWorld episodes."""
    model = load_world_model(args.checkpoint, device=args.device)
    episodes = held_out_episodes(args.task, args.episodes, args.seed)
    venv = make_vec_env("procworld", args.view, model, num_envs=1)
    rows = []
    for label, runs in _groups(args.runs):
        for run in runs:
            for steps, path in run_checkpoints(run):
                build = (lambda path=path: load_policy(path, args.view, args.policy_device))
                played = evaluate_unit(Unit(label, str(path), 0, build), "procworld", venv, episodes, args.task,
                                       False, args.progress)  # fmt: skip
                means = {k: float(np.mean([r[k] for r in played])) for k in ("success", "return", "length")}
                rows.append({"label": label, "run": str(run), "env_steps": steps, **means})
    baselines = {}
    for name in (b.strip() for b in args.baselines.split(",") if b.strip()):
        unit = Unit(name, name, 0, lambda name=name: make_baseline(name, args.task, args.action_space))
        played = evaluate_unit(unit, "procworld", venv, episodes, args.task, False, args.progress)
        baselines[name] = float(np.mean([r["success"] for r in played]))
    venv.close()
    return rows, baselines


def plot_curves(rows: list[dict[str, Any]], baselines: dict[str, float], runs: str, path: Path, task: str) -> None:
    """Draw ``curves.png`` (see the module doc) from ``curve_rows`` output and the runs' episode logs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for label in dict.fromkeys(r["label"] for r in rows):
        steps = sorted({r["env_steps"] for r in rows if r["label"] == label})
        per_step = [[r["success"] for r in rows if r["label"] == label and r["env_steps"] == s] for s in steps]
        left.plot(steps, [np.mean(v) for v in per_step], marker="o", label=label)
        left.fill_between(steps, [min(v) for v in per_step], [max(v) for v in per_step], alpha=0.2)
    for name, rate in baselines.items():
        left.axhline(rate, linestyle="--", color="grey" if name == "random" else "black", label=name)
    left.set(xlabel="env steps", ylabel="held-out ProcWorld success rate", title=task, ylim=(-0.02, 1.02))
    left.legend()
    for colour, (label, run_dirs) in enumerate(_groups(runs)):
        for k, run in enumerate(run_dirs):
            steps, returns = _training_returns(run / "episodes.csv")
            right.plot(steps, returns, color=f"C{colour}", label=label if k == 0 else None, alpha=0.8)
    right.set(xlabel="env steps", ylabel="training return (own world, smoothed)")
    right.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        fig.savefig(f, format="png", dpi=120)
    plt.close(fig)


def _training_returns(path: Path, window: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """(env steps, moving-average return) of a run's episode log."""
    with open(path, newline="") as f:
        log = list(csv.DictReader(f))
    if not log:
        return np.zeros(0), np.zeros(0)
    steps = np.array([int(r["env_steps"]) for r in log])
    returns = np.array([float(r["return"]) for r in log])
    kernel = np.ones(min(window, len(returns))) / min(window, len(returns))
    return steps[len(kernel) - 1:], np.convolve(returns, kernel, mode="valid")


def _groups(spec: str) -> list[tuple[str, list[Path]]]:
    groups = []
    for entry in (e.strip() for e in spec.split(",") if e.strip()):
        label, sep, pattern = entry.partition("=")
        runs = [Path(p) for p in sorted(glob.glob(pattern)) if Path(p).is_dir()]
        if not sep or not label or not runs:
            raise ValueError(f"--runs entry {entry!r} must be label=glob matching run directories")
        groups.append((label, runs))
    return groups


def main(argv: list[str] | None = None) -> int:
    args = parse_args(CurveArgs, argv, "yume-gym agents curves", __doc__.splitlines()[0])
    if not args.runs:
        raise SystemExit("yume-gym agents curves: give --runs label=glob over training run directories")
    rows, baselines = curve_rows(args)
    out = Path(args.out)
    write_csv(out / "curves.csv", rows, CURVE_FIELDS)
    plot_curves(rows, baselines, args.runs, out / "curves.png", args.task)
    print(f"wrote {out / 'curves.csv'} and {out / 'curves.png'} ({len(rows)} checkpoints)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

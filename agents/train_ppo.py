"""Train a PPO agent on a task in the generated world (``--world yume``) or the ground truth (``procworld``).

    yume-gym agents train_ppo --world yume --task reach-red --steps 200000 --seed 0

stable-baselines3 PPO with ``CnnPolicy`` on ``--num-envs`` envs (in YumeWorld one batched
world-model pass per step for all of them) seen through :mod:`agents.worlds`: frames resized to
``--obs-size``, the last ``--frame-stack`` stacked, ProcWorld matched to the world model. Writes
into ``--out``:

- ``progress.csv``: stable-baselines3's log per rollout (``time/fps`` is env steps per second,
  updates included), and TensorBoard events with ``--tensorboard``;
- ``episodes.csv``: one row per finished training episode (:mod:`agents.callbacks`);
- ``checkpoints/step-<env steps>.zip`` every ``--checkpoint-every`` env steps, ``final.zip`` at
  the end, each written atomically;
- ``args.json`` at the start, ``run.json`` at the end: the arguments, the world model, torch's
  CPU thread count and the throughput (env steps per second).

On a CPU a seed reproduces a run only at the same thread count (``--threads``): the thread count
changes the order of float sums, and PPO amplifies the difference into another policy.

Running the same command again on a run directory that has checkpoints but no ``final.zip``
(a run cut off) resumes from its latest checkpoint: the policy, its optimizer and step count are
restored, ``episodes.csv`` keeps the episodes up to that checkpoint, and stable-baselines3's log
of the rest goes to ``progress-from-<env steps>.csv``. Only ``--steps``, ``--progress`` and
``--threads`` may differ from the first run's arguments (a larger ``--steps`` trains it for
longer).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.logger import Logger, make_output_format
from stable_baselines3.common.vec_env import VecEnv

from .callbacks import (
    EpisodeLog,
    PeriodicCheckpoint,
    ProgressBar,
    latest_checkpoint,
    save_agent,
)
from .ppo_file import load_ppo
from .worlds import DREAM_STARTS, WORLDS, AgentView, make_vec_env
from yume_gym.actions import ACTION_SPACE_KINDS
from yume_gym.atomic_file import write_text_atomic
from yume_gym.env.tasks import TASK_NAMES, make_task
from yume_gym.options import option, parse_args
from yume_gym.world.bundle import load_world_model


@dataclass
class TrainArgs:
    world: str = option("procworld", f"where the agent trains: one of {WORLDS} ('yume' = the generated world)")
    task: str = option("reach-red", f"the task: one of {', '.join(TASK_NAMES)}")
    steps: int = option(100_000, "env steps to train for, summed over the envs")
    num_envs: int = option(8, "envs stepped together")
    seed: int = option(0, "seed of the policy, the envs and the world model's sampling")
    checkpoint: str | None = option(None, "world model bundle directory (default: the embedded model); "
                                          "ProcWorld is matched to its frame size and chunk length")
    device: str = option("cpu", "device of the world model")
    policy_device: str = option("auto", "device of the policy ('auto': CUDA when available)")
    action_space: str = option("compact", f"the agent's action space: one of {ACTION_SPACE_KINDS}")
    obs_size: int = option(64, "side of the square frames the policy sees (>= 36 for the default CNN)")
    frame_stack: int = option(4, "recent frames the policy sees at once")
    dream_start: str = option("procworld", f"how a YumeWorld episode opens: one of {DREAM_STARTS} (see agents.worlds)")
    episode_steps: int = option(0, "episode length in env steps; 0 for the task's")
    n_steps: int = option(64, "PPO rollout length per env")
    batch_size: int = option(128, "PPO minibatch size")
    epochs: int = option(10, "PPO epochs per rollout")
    learning_rate: float = option(5e-4, "Adam learning rate")
    gamma: float = option(0.95, "discount factor")
    gae_lambda: float = option(0.95, "GAE lambda")
    clip_range: float = option(0.2, "PPO clip range")
    ent_coef: float = option(0.01, "entropy bonus coefficient")
    checkpoint_every: int = option(20_000, "save the agent every this many env steps (0: only at the end)")
    out: str = option("", "run directory (default: runs/agents/<world>-<task>-s<seed>)")
    tensorboard: bool = option(False, "also write TensorBoard events (needs: pip install tensorboard)")
    progress: bool = option(True, "show a progress bar")
    threads: int = option(0, "torch CPU threads (0: torch's default); a seed reproduces a run at the same count")

    def __post_init__(self) -> None:
        make_task(self.task)
        if self.dream_start not in DREAM_STARTS:
            raise ValueError(f"unknown --dream-start {self.dream_start!r}; expected one of {DREAM_STARTS}")
        if self.world not in WORLDS:
            raise ValueError(f"unknown --world {self.world!r}; expected one of {WORLDS}")
        if self.action_space not in ACTION_SPACE_KINDS:
            raise ValueError(f"unknown --action-space {self.action_space!r}; expected one of {ACTION_SPACE_KINDS}")
        if self.threads < 0:
            raise ValueError(f"--threads {self.threads} must be >= 0 (0: torch's default)")
        small = {name: getattr(self, name) for name in ("steps", "num_envs", "n_steps", "batch_size", "epochs")
                 if getattr(self, name) < 1}  # fmt: skip
        if small:
            raise ValueError(f"{small} must be >= 1")
        if self.tensorboard and importlib.util.find_spec("tensorboard") is None:
            raise ValueError("--tensorboard needs TensorBoard: pip install tensorboard")
        self.out = self.out or f"runs/agents/{self.world}-{self.task}-s{self.seed}"

    @property
    def view(self) -> AgentView:
        return AgentView(self.task, self.action_space, self.obs_size, self.frame_stack, self.episode_steps or None,
                         self.dream_start)


# Arguments a resumed run may change; any other difference from the first run is an error.
RESUMABLE_CHANGES = ("steps", "progress", "threads")


class RunDirectoryError(ValueError):
    """``--out`` holds a run that this command cannot start or resume (the message says why)."""


def check_resumable(out: Path, args: TrainArgs) -> tuple[int, Path] | None:
    """(env steps, file) of the latest checkpoint of a cut-off run in ``out``, or None for a new run."""
    if (out / "final.zip").is_file():
        raise RunDirectoryError(f"{out} holds a finished run (final.zip); pass another --out to train again")
    found = latest_checkpoint(out / "checkpoints")
    if found is None:
        return None
    if not (out / "args.json").is_file():
        raise RunDirectoryError(f"{out} has checkpoints but no args.json to resume them with; pass another --out")
    first = json.loads((out / "args.json").read_text())
    changed = [f"{k}={first.get(k)!r}" for k, v in asdict(args).items()
               if k not in RESUMABLE_CHANGES and first.get(k) != v]  # fmt: skip
    if changed:
        raise RunDirectoryError(f"{out} was started with other arguments ({', '.join(changed)}); "
                                "resume it with those or pass another --out")
    if found[0] >= args.steps:
        raise RunDirectoryError(f"{out} has a checkpoint at {found[0]} env steps, not below --steps {args.steps}; "
                                "pass a larger --steps to extend it")
    return found


def new_agent(args: TrainArgs, venv: VecEnv) -> PPO:
    """A fresh PPO agent with ``args``' hyperparameters."""
    return PPO(
        "CnnPolicy", venv, n_steps=args.n_steps, batch_size=args.batch_size, n_epochs=args.epochs,
        learning_rate=args.learning_rate, gamma=args.gamma, gae_lambda=args.gae_lambda,
        clip_range=args.clip_range, ent_coef=args.ent_coef, seed=args.seed, device=args.policy_device, verbose=0,
    )  # fmt: skip


def train(args: TrainArgs) -> dict:
    """Run (or resume) the training ``args`` describe; returns the summary also written to ``run.json``.

    ``--threads`` holds for this call only: torch's thread count is restored when it returns.
    """
    previous_threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return train_with_current_threads(args)
    finally:
        torch.set_num_threads(previous_threads)


def train_with_current_threads(args: TrainArgs) -> dict:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    resumed = check_resumable(out, args)
    model = load_world_model(args.checkpoint, device=args.device)
    venv = make_vec_env(args.world, args.view, model, args.num_envs)
    if resumed is None:
        write_text_atomic(out / "args.json", json.dumps(asdict(args), indent=2))
        agent, done = new_agent(args, venv), 0
    else:
        done, path = resumed
        agent = load_ppo(path, env=venv, device=args.policy_device, clip_range=args.clip_range)
        agent.set_random_seed(args.seed + done)  # the resumed envs and policy draw new, seeded randomness
    suffix = "" if resumed is None else f"-from-{done}"  # stable-baselines3 rewrites progress.csv
    formats = ["csv"] + (["tensorboard"] if args.tensorboard else [])
    agent.set_logger(Logger(str(out), [make_output_format(f, str(out), suffix) for f in formats]))
    log = EpisodeLog(out / "episodes.csv", resume_at=done if resumed else None)
    checkpoints = PeriodicCheckpoint(out / "checkpoints", args.checkpoint_every, after=done)
    start = time.monotonic()
    agent.learn(args.steps - done, callback=CallbackList([log, ProgressBar(args.steps, log, args.progress), checkpoints]),
                reset_num_timesteps=resumed is None)
    wall = time.monotonic() - start
    final = save_agent(agent, out / "final.zip")
    venv.close()
    summary = {
        "args": asdict(args), "world_model": model.describe(), "env_steps": agent.num_timesteps,
        "resumed_from": done if resumed else None, "torch_threads": torch.get_num_threads(), "wall_s": round(wall, 2),
        "env_steps_per_s": round((agent.num_timesteps - done) / wall, 2),
        "final": str(final), "checkpoints": [str(p) for p in checkpoints.saved], "recent_episodes": log.summary(),
    }  # fmt: skip
    write_text_atomic(out / "run.json", json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(TrainArgs, argv, "yume-gym agents train_ppo", __doc__.splitlines()[0])
    try:
        summary = train(args)
    except RunDirectoryError as err:
        print(f"yume-gym agents train_ppo: error: {err}", file=sys.stderr)
        return 2
    print(f"{summary['world_model']}\ntrained {summary['env_steps']} env steps in {summary['wall_s']:.0f} s "
          f"({summary['env_steps_per_s']:.1f} steps/s); wrote {args.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

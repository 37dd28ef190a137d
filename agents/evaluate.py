"""Score agents on held-out episodes in ProcWorld (the ground truth) and in YumeWorld; write a table.

    yume-gym agents evaluate --task reach-red \\
        --policies "ppo-yume=runs/agents/yume-reach-red-s*/final.zip,\
ppo-procworld=runs/agents/procworld-reach-red-s*/final.zip"

Every agent plays the same held-out episodes (:func:`held_out_episodes`: the task's held-out
scenes, with layouts from ``--seed``) through the same observation pipeline as in training
(:mod:`agents.worlds`). A ``--policies`` entry is ``label=glob``; every file the glob matches is
one unit (a training seed) of that agent. ``--baselines`` adds the random agent (one unit per
``--baseline-seeds``) and the scripted one (deterministic: one unit). In ProcWorld, success is the
task's judgement of the true state; in YumeWorld there is no true state, so success there means
the episode ended on the task's reward threshold (the frames showed the goal reached).

Each episode is reproducible on its own: the env is seeded with the episode's seed and the
policy's randomness with a seed made of the unit and the episode. Writes ``episodes.csv`` (one
row per episode), ``table.md`` (:mod:`agents.stats`) and, with ``--videos K``, MP4s of up to K
successful and K failed ProcWorld episodes per agent, replayed from their recorded actions, each
with a PNG filmstrip of ten of its frames beside it.
"""

from __future__ import annotations

import csv
import glob
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnv
from tqdm import tqdm

from .baselines import BASELINES, make_baseline
from .ppo_file import load_ppo
from .stats import markdown_table, summarize
from .worlds import DREAM_STARTS, WORLDS, AgentView, make_vec_env, procworld_env
from yume_gym.actions import make_action_space
from yume_gym.atomic_file import atomic_path, write_text_atomic
from yume_gym.env.recorder import ChunkRecorder
from yume_gym.env.tasks import TASK_NAMES, make_task
from yume_gym.options import option, parse_args
from yume_gym.world.bundle import WorldModel, load_world_model

EPISODE_FIELDS = ("agent", "unit", "world", "episode", "scene", "seed", "return", "length", "ended_by_task",
                  "success", "score")  # fmt: skip


@dataclass
class EvalArgs:
    task: str = option("reach-red", f"the task: one of {', '.join(TASK_NAMES)}")
    policies: str = option("", "trained agents as 'label=glob[,label=glob...]'; each matching .zip is one seed")
    baselines: str = option("random,scripted", f"reference agents to add, comma-separated, from {BASELINES}")
    baseline_seeds: int = option(3, "units (seeds) of the random agent")
    worlds: str = option("procworld", f"where to evaluate, comma-separated, from {WORLDS}")
    episodes: int = option(50, "held-out episodes per unit")
    seed: int = option(0, "seed of the held-out episodes (scene layouts)")
    checkpoint: str | None = option(None, "world model bundle directory (default: the embedded model)")
    device: str = option("cpu", "device of the world model")
    policy_device: str = option("cpu", "device of the trained policies")
    deterministic: bool = option(False, "take the policies' most likely action instead of sampling")
    action_space: str = option("compact", "action space the agents were trained with")
    obs_size: int = option(64, "observation side the agents were trained with")
    frame_stack: int = option(4, "frames stacked in the observations the agents were trained with")
    dream_start: str = option("procworld", f"how a YumeWorld episode opens: one of {DREAM_STARTS} (see agents.worlds)")
    episode_steps: int = option(0, "episode length; 0 for the task's")
    videos: int = option(0, "record this many successful and this many failed ProcWorld episodes per agent")
    out: str = option("runs/agents/eval", "output directory")
    progress: bool = option(True, "show progress bars")

    def __post_init__(self) -> None:
        make_task(self.task)
        if self.dream_start not in DREAM_STARTS:
            raise ValueError(f"unknown --dream-start {self.dream_start!r}; expected one of {DREAM_STARTS}")
        unknown = [w for w in _items(self.worlds) if w not in WORLDS] + [
            b for b in _items(self.baselines) if b not in BASELINES]  # fmt: skip
        if unknown:
            raise ValueError(f"unknown world(s) or baseline(s) {unknown}; worlds: {WORLDS}, "
                             f"baselines: {BASELINES}")
        if self.episodes < 1 or self.baseline_seeds < 1 or self.videos < 0:
            raise ValueError("--episodes and --baseline-seeds must be >= 1 and --videos >= 0")

    @property
    def view(self) -> AgentView:
        return AgentView(self.task, self.action_space, self.obs_size, self.frame_stack, self.episode_steps or None,
                         self.dream_start)


@dataclass(frozen=True)
class Unit:
    """One evaluated policy: the agent's label, the unit's name and a builder of the policy."""

    agent: str
    name: str
    index: int
    build: Callable[[], Any]


def held_out_episodes(task: str, count: int, seed: int) -> list[tuple[str, int]]:
    """``count`` (scene caption, env seed) pairs: the task's held-out scenes in turn, layouts from ``seed``."""
    scenes = make_task(task).eval_scenes
    seeds = np.random.default_rng([seed, 0xE7A1]).integers(2**31 - 1, size=count)
    return [(scenes[i % len(scenes)], int(s)) for i, s in enumerate(seeds)]


def load_policy(path: str | Path, view: AgentView, device: str = "cpu") -> PPO:
    """A saved PPO agent, checked against the observations and actions of ``view``."""
    agent = load_ppo(path, device=device)
    expected = (3 * view.frame_stack, view.obs_size, view.obs_size)
    got = tuple(agent.observation_space.shape)
    if got not in (expected, expected[1:] + expected[:1]):
        raise ValueError(
            f"{str(path)!r} sees observations {got}, not {expected}: "
            "pass the --obs-size and --frame-stack it was trained with"
        )
    if agent.action_space != make_action_space(view.action_space):
        raise ValueError(f"{str(path)!r} acts in {agent.action_space}; "
                         "pass the --action-space it was trained with")
    return agent


def episode_seed(unit_index: int, episode: int) -> int:
    """The seed of a policy's randomness in one episode of one unit."""
    return int(np.random.SeedSequence([unit_index, episode]).generate_state(1)[0])


def play_episode(policy: Any, venv: VecEnv, scene: str, seed: int, policy_seed: int,
                 deterministic: bool) -> tuple[dict[str, Any], list[Any]]:
    """Play one episode in a one-env ``venv``; returns (the episode's last info, the actions taken)."""
    torch.manual_seed(policy_seed)  # a PPO policy samples its actions with torch
    if hasattr(policy, "reseed"):
        policy.reseed(policy_seed)
    venv.seed(seed)
    venv.set_options({"prompt": scene})
    obs = venv.reset()
    start, actions = np.ones(1, dtype=bool), []
    while True:
        action, _ = policy.predict(obs, episode_start=start, deterministic=deterministic)
        obs, _, done, infos = venv.step(action)
        actions.append(np.asarray(action[0]).tolist())
        start = done
        if done[0]:
            return infos[0], actions


def evaluate_unit(unit: Unit, world: str, venv: VecEnv, episodes: Sequence[tuple[str, int]], task: str,
                  deterministic: bool, progress: bool = False) -> list[dict[str, Any]]:
    """Episode rows (``EPISODE_FIELDS`` plus the actions) of one unit in one world."""
    policy, judged_by_frames = unit.build(), make_task(task).terminate_at_reward is not None
    rows = []
    for i, (scene, seed) in enumerate(tqdm(episodes, desc=f"{unit.agent} [{unit.name}] in {world}",
                                           disable=not progress, leave=False)):  # fmt: skip
        info, actions = play_episode(policy, venv, scene, seed, episode_seed(unit.index, i), deterministic)
        ended = not info.get("TimeLimit.truncated", False)
        episode = info["episode"]
        if world == "procworld":
            success, score = bool(episode["task_success"]), float(episode["task_score"])
        else:
            success, score = (ended if judged_by_frames else None), None
        rows.append({
            "agent": unit.agent, "unit": unit.name, "world": world, "episode": i, "scene": scene, "seed": seed,
            "return": float(episode["r"]), "length": int(episode["l"]), "ended_by_task": ended,
            "success": success, "score": score, "actions": actions,
        })  # fmt: skip
    return rows


def units(args: EvalArgs) -> list[Unit]:
    """The evaluated agents: baselines, then each ``--policies`` group (a unit per matching file)."""
    view, found = args.view, []
    for name in _items(args.baselines):
        for k in range(args.baseline_seeds if name == "random" else 1):
            build = (lambda name=name, k=k: make_baseline(name, args.task, args.action_space, seed=k))
            found.append(Unit(name, f"seed {k}" if name == "random" else name, k, build))
    for entry in _items(args.policies):
        label, sep, pattern = entry.partition("=")
        paths = sorted(glob.glob(pattern))
        if not sep or not label or not paths:
            raise ValueError(f"--policies entry {entry!r} must be label=glob matching saved .zip agents")
        for k, path in enumerate(paths):
            found.append(Unit(label, path, k, lambda path=path: load_policy(path, view, args.policy_device)))
    if not found:
        raise ValueError("nothing to evaluate: give --policies and/or --baselines")
    return found


def record_videos(rows: Sequence[dict[str, Any]], view: AgentView, model: WorldModel, per_kind: int,
                  directory: Path) -> list[Path]:
    """Replay up to ``per_kind`` successful and failed ProcWorld episodes of each agent's first unit to MP4."""
    written = []
    for agent in dict.fromkeys(r["agent"] for r in rows):
        mine = [r for r in rows if r["agent"] == agent and r["world"] == "procworld"]
        mine = [r for r in mine if r["unit"] == mine[0]["unit"]] if mine else []
        for outcome, wanted in (("success", True), ("failure", False)):
            for row in [r for r in mine if r["success"] == wanted][:per_kind]:
                path = directory / agent / f"{outcome}-episode{row['episode']:03d}.mp4"
                env = ChunkRecorder(procworld_env(view, model), path)
                frames = [env.reset(seed=row["seed"], options={"prompt": row["scene"]})[0]]
                frames += [env.step(action)[0] for action in row["actions"]]
                env.close()
                save_png(filmstrip(frames), path.with_suffix(".png"))
                written.append(path)
    return written


def filmstrip(frames: Sequence[np.ndarray], count: int = 10) -> np.ndarray:
    """Up to ``count`` frames (H, W, 3) uint8, evenly spaced from first to last, side by side: (H, k * W, 3)."""
    picks = np.unique(np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int))
    return np.concatenate([frames[i] for i in picks], axis=1)


def save_png(image: np.ndarray, path: Path) -> Path:
    """``image`` (H, W, 3) uint8 as a PNG file, written atomically."""
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
    return path


def write_csv(path: Path, rows: Sequence[dict[str, Any]], fields: Sequence[str]) -> None:
    """``rows`` (their ``fields``) as a CSV file, written atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(fields), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(EvalArgs, argv, "yume-gym agents evaluate", __doc__.splitlines()[0])
    out = Path(args.out)
    model = load_world_model(args.checkpoint, device=args.device)
    episodes = held_out_episodes(args.task, args.episodes, args.seed)
    rows: list[dict[str, Any]] = []
    for world in _items(args.worlds):
        venv = make_vec_env(world, args.view, model, num_envs=1)
        for unit in units(args):
            rows += evaluate_unit(unit, world, venv, episodes, args.task, args.deterministic, args.progress)
        venv.close()
    table = markdown_table(summarize(rows))
    write_csv(out / "episodes.csv", rows, EPISODE_FIELDS)
    write_text_atomic(out / "table.md", table)
    write_text_atomic(out / "eval.json", json.dumps({"args": asdict(args), "world_model": model.describe()}, indent=2))
    if args.videos:
        for path in record_videos(rows, args.view, model, args.videos, out / "videos"):
            print(f"wrote {path}")
    print(f"{model.describe()}\ntask {args.task}, {args.episodes} held-out episodes per unit\n\n{table}")
    print(f"wrote {out / 'episodes.csv'} and {out / 'table.md'}")
    return 0


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


if __name__ == "__main__":
    sys.exit(main())

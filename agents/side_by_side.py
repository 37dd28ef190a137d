"""Replay ground-truth episodes in the dream: the same first frame and actions, side by side.

    yume-gym agents side_by_side --task reach-red --episodes 3 --out runs/agents/side-by-side.png

An agent (default: the scripted one) plays held-out ProcWorld episodes; each is replayed action
for action in YumeWorld opened on the episode's first ProcWorld frame, with the scene as prompt.
Writes one PNG (per episode, the ProcWorld filmstrip above the dream's) and prints the return the
task's reward paid in each world. If the dream keeps the scene, the two strips and returns agree;
an agent trained in the dream can only learn what its frames show.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from .baselines import BASELINES, make_baseline
from .evaluate import Unit, evaluate_unit, filmstrip, held_out_episodes, save_png
from .worlds import AgentView, make_vec_env, procworld_env
from yume_gym.env.tasks import TASK_NAMES
from yume_gym.options import option, parse_args
from yume_gym.world.bundle import WorldModel, load_world_model


@dataclass
class SideBySideArgs:
    task: str = option("reach-red", f"the task: one of {', '.join(TASK_NAMES)}")
    agent: str = option("scripted", f"the agent that plays the ProcWorld episodes: one of {BASELINES}")
    episodes: int = option(3, "held-out episodes to replay")
    frames: int = option(10, "frames shown per filmstrip")
    episode_steps: int = option(0, "episode length; 0 for the task's")
    seed: int = option(0, "seed of the held-out episodes")
    checkpoint: str | None = option(None, "world model bundle directory (default: the embedded model)")
    out: str = option("runs/agents/side-by-side.png", "the PNG to write")

    def __post_init__(self) -> None:
        if self.agent not in BASELINES or self.episodes < 1 or self.frames < 1:
            raise ValueError(f"--agent must be one of {BASELINES}, --episodes and --frames >= 1")


def replay(model: WorldModel, view: AgentView, scene: str, seed: int, actions: list) -> dict[str, tuple]:
    """(frames, return) of one episode's ``actions`` in ProcWorld and in the dream from its first frame."""
    truth = procworld_env(view, model)
    first, _ = truth.reset(seed=seed, options={"prompt": scene})
    dream = gym.make("yume_gym/YumeWorld-v0", checkpoint=model, task=view.task, action_space=view.action_space,
                     image=first, prompt=scene, max_episode_steps=len(actions))  # fmt: skip
    played = {}
    for world, env in (("procworld", truth), ("yume", dream)):
        frames = [env.reset(seed=seed, options={"prompt": scene})[0]]
        total = 0.0
        for action in actions:
            obs, reward, *_ = env.step(action)
            frames.append(obs)
            total += float(reward)
        played[world] = (frames, total)
        env.close()
    return played


def main(argv: list[str] | None = None) -> int:
    args = parse_args(SideBySideArgs, argv, "yume-gym agents side_by_side", __doc__.splitlines()[0])
    model = load_world_model(args.checkpoint)
    view = AgentView(args.task, obs_size=model.frame_size[0], max_episode_steps=args.episode_steps or None)
    venv = make_vec_env("procworld", view, model, num_envs=1)
    unit = Unit(args.agent, args.agent, 0, lambda: make_baseline(args.agent, args.task, view.action_space))
    rows = evaluate_unit(unit, "procworld", venv, held_out_episodes(args.task, args.episodes, args.seed),
                         args.task, deterministic=True)  # fmt: skip
    venv.close()
    out, strips = Path(args.out), []
    out.parent.mkdir(parents=True, exist_ok=True)
    for row in rows:
        played = replay(model, view, row["scene"], row["seed"], row["actions"])
        print(f"{row['scene']!r}: {len(row['actions'])} steps; return in procworld "
              f"{played['procworld'][1]:.2f}, in the dream {played['yume'][1]:.2f}")  # fmt: skip
        strips += [filmstrip(played[world][0], args.frames) for world in ("procworld", "yume")]
    width = max(s.shape[1] for s in strips)
    save_png(np.concatenate([np.pad(s, ((0, 0), (0, width - s.shape[1]), (0, 0))) for s in strips]), out)
    print(f"wrote {out}: per episode, ProcWorld above the dream")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train PPO in the generated world, then score it in the ground-truth world.

    python examples/train_ppo.py --steps 20000

1. The dream: ``--num-envs`` worlds of the world model in one batched vector env, rewarded by
   the "reach-red" task from the frames alone (the red share of the view and its growth).
   A progress bar runs, PPO logs each rollout's mean episode reward and length
   (``rollout/ep_rew_mean``), and the agent is saved to ``--out``.
2. The real world: ProcWorld, set up like the world model (frame size, frames per step), on the
   task's held-out scenes; success is judged from the true state (the camera came within
   1.5 m of a red pillar).

Both worlds take the same actions and give the same frames, stacked four at a time.
The full experiment (seeds, baselines, confidence intervals) is ``agents/``; see docs/agents.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack

import yume_gym  # noqa: F401  (registers the env ids)
from yume_gym.env.sb3 import YumeWorldSB3VecEnv
from yume_gym.env.tasks import make_task
from yume_gym.world.bundle import load_world_model

TASK = "reach-red"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20_000, help="env steps to train for in the world model")
    p.add_argument("--num-envs", type=int, default=8, help="generated worlds stepped together")
    p.add_argument("--n-steps", type=int, default=64, help="PPO rollout length per env")
    p.add_argument("--episodes", type=int, default=20, help="held-out ProcWorld episodes to score")
    p.add_argument("--episode-steps", type=int, default=make_task(TASK).max_episode_steps, help="episode length")
    p.add_argument("--checkpoint", default=None, help="world model bundle directory (default: the embedded model)")
    p.add_argument("--seed", type=int, default=0, help="seed of the agent and the worlds")
    p.add_argument("--out", default="runs/train_ppo/agent.zip", help="where the trained agent is saved")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    model = load_world_model(args.checkpoint)
    print(model.describe())

    # 1. Train in the dream.
    dream = YumeWorldSB3VecEnv(num_envs=args.num_envs, checkpoint=model, task=TASK, action_space="compact",
                               max_episode_steps=args.episode_steps)  # fmt: skip
    batch = min(128, args.n_steps * args.num_envs)
    # agents.train_ppo's defaults: many small updates per rollout learn this task within a small budget
    agent = PPO("CnnPolicy", VecFrameStack(dream, 4), n_steps=args.n_steps, batch_size=batch, n_epochs=10,
                learning_rate=5e-4, gamma=0.95, clip_range=0.2, ent_coef=0.01, seed=args.seed,
                verbose=1)  # fmt: skip
    agent.learn(args.steps, progress_bar=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    agent.save(out)
    print(f"saved the agent to {out.resolve()} (load it with PPO.load)")

    # 2. Score in the ground truth, on scenes the agent never trained on.
    def real_world() -> gym.Env:
        return gym.make("yume_gym/ProcWorld-v0", task=TASK, action_space="compact", size=model.frame_size,
                        frames_per_step=model.chunk_frames, speed=model.speed,
                        max_episode_steps=args.episode_steps)  # fmt: skip

    real = VecFrameStack(DummyVecEnv([real_world]), 4)
    scenes = make_task(TASK).eval_scenes
    successes = []
    for i in range(args.episodes):
        real.seed(10_000 + i)
        real.set_options({"prompt": scenes[i % len(scenes)]})
        obs, done = real.reset(), [False]
        while not done[0]:
            action, _ = agent.predict(obs)
            obs, _, done, infos = real.step(action)
        successes.append(infos[0]["task_success"])  # ProcWorld's verdict from the true state
    rate = float(np.mean(successes))
    print(f"success in ProcWorld after {args.steps} dream steps: {rate:.2f} "
          f"over {args.episodes} held-out episodes")
    return rate


if __name__ == "__main__":
    main()

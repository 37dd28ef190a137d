"""PPO on RLlib with world-model envs stepping through Ray world servers.

    python examples/rllib_ppo.py --iterations 20
    python examples/rllib_ppo.py --num-gpus 4 --rows 16 --env-runners 16   # four servers, one per GPU

``--servers`` world servers (``--num-gpus`` of them, one per GPU) batch the steps of every env of
``--env-runners`` RLlib env runners (RLlib's current API stack; each runner's
``--envs-per-runner`` envs are one batched vector env); the learner trains a CNN on the frames,
rewarded by the "reach-red" task. See docs/scale-out.md for clusters.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
import ray
from ray.rllib.algorithms.ppo import PPOConfig

from yume_gym.env.remote.pool import start_servers
from yume_gym.env.remote.rllib import register_rllib_env

TASK = "reach-red"


def float_frames(env: gym.Env | gym.vector.VectorEnv) -> gym.Env | gym.vector.VectorEnv:
    """Frames as float32 in [0, 1]: RLlib's default CNN takes no uint8."""
    wrappers = gym.wrappers.vector if isinstance(env, gym.vector.VectorEnv) else gym.wrappers
    return wrappers.RescaleObservation(wrappers.DtypeObservation(env, np.float32), np.float32(0), np.float32(1))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=20, help="PPO training iterations")
    p.add_argument("--servers", type=int, default=1, help="world servers on CPUs (without --num-gpus)")
    p.add_argument("--rows", type=int, default=16, help="worlds each server holds")
    p.add_argument("--num-gpus", type=int, default=0,
                   help="GPUs for world servers: one server on each (0: CPU servers)")
    p.add_argument("--server-cpus", type=float, default=0, help="CPUs Ray reserves for each server (0: shared)")
    p.add_argument("--env-runners", type=int, default=2, help="RLlib env runners (processes)")
    p.add_argument("--envs-per-runner", type=int, default=4, help="envs in each env runner")
    p.add_argument("--checkpoint", default=None, help="world model bundle directory (default: the embedded model)")
    p.add_argument("--frame-size", type=int, default=64, help="observation frame side (RLlib's CNN: 42, 64, 84, 96)")
    p.add_argument("--episode-steps", type=int, default=50, help="episode length")
    p.add_argument("--batch", type=int, default=512, help="PPO train batch (env steps per iteration)")
    p.add_argument("--minibatch", type=int, default=128, help="PPO minibatch")
    p.add_argument("--epochs", type=int, default=4, help="PPO epochs per iteration")
    p.add_argument("--address", default=None, help='Ray address ("auto" joins a running cluster; default: local)')
    p.add_argument("--seed", type=int, default=0, help="seed of the learner and the worlds")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> list[float]:
    """Train; returns each iteration's mean episode return (NaN before the first episode ends)."""
    args = parse_args(argv)
    if not ray.is_initialized():
        ray.init(address=args.address)
    pool = start_servers(args.num_gpus or args.servers, checkpoint=args.checkpoint, rows=args.rows,
                         num_gpus_per_server=1 if args.num_gpus else 0, num_cpus_per_server=args.server_cpus)
    env_name = register_rllib_env("yume_gym/YumeWorld-v0", wrappers=[float_frames])
    config = (
        PPOConfig()
        .environment(env_name, env_config={"server": pool, "task": TASK, "action_space": "compact",
                                           "frame_size": args.frame_size, "max_episode_steps": args.episode_steps})
        .env_runners(num_env_runners=args.env_runners, num_envs_per_env_runner=args.envs_per_runner,
                     gym_env_vectorize_mode="vector_entry_point",  # a runner's envs: one request a step
                     rollout_fragment_length="auto")
        .training(train_batch_size_per_learner=args.batch, minibatch_size=args.minibatch,
                  num_epochs=args.epochs, lr=5e-4, gamma=0.95)
        .debugging(seed=args.seed)
    )
    algo = config.build_algo()
    returns = []
    for i in range(args.iterations):
        result = algo.train()
        ret = result["env_runners"].get("episode_return_mean", float("nan"))
        returns.append(ret)
        print(f"iteration {i + 1}: episode return {ret:.3f}, "
              f"env steps {result['env_runners'].get('num_env_steps_sampled_lifetime', 0)}")
    for name, stats in pool.stats().items():
        print(f"{name}: {stats.batches} batched steps, mean batch {stats.mean_batch:.2f} rows")
    algo.stop()
    pool.shutdown()
    return returns


if __name__ == "__main__":
    main()

"""The two worlds an agent meets, built so that it cannot tell them apart by their interface.

- ``"yume"``: the generated world, ``YumeWorldSB3VecEnv`` (all envs in one batched pass),
  whose episodes open on ProcWorld's first frame of the episode's scene and seed (as DIAMOND's
  dream starts from real observations; ``dream_start="text"`` opens on the caption alone);
- ``"procworld"``: the procedural ground truth, one ``yume_gym/ProcWorld-v0`` per env, set up
  like the world model: the same frame size, frames per step and camera speeds
  (:func:`procworld_settings`), so one step covers the same motion in both.

Both get the same task (its reward over frames and its episode end), the same action space,
the same observations (frames resized to ``obs_size`` with the same antialiased filter) and
the same stacking of the last ``frame_stack`` frames along the channels (stable-baselines3's
``VecFrameStack``: Gymnasium's ``FrameStackObservation`` adds a leading axis that ``CnnPolicy``
cannot take and has no batched counterpart for the world-model vector env). ``VecMonitor``
puts each finished episode's return and length in its last info; ProcWorld's also carry the
task's true verdict, ``task_success`` and ``task_score``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import TransformObservation
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecFrameStack, VecMonitor

import yume_gym  # noqa: F401  (registers the env ids)
from yume_gym.actions import DEFAULT_SPEED
from yume_gym.env.core import resize_frames
from yume_gym.env.sb3 import YumeWorldSB3VecEnv
from yume_gym.env.tasks import make_task
from yume_gym.world.bundle import WorldModel

WORLDS = ("procworld", "yume")
DREAM_STARTS = ("procworld", "text")
TRUTH_KEYS = ("task_success", "task_score")


@dataclass(frozen=True)
class AgentView:
    """What an agent sees and does, the same in every world.

    ``task``: a task name (:data:`yume_gym.env.tasks.TASK_NAMES`); ``action_space``: "compact"
    (9 actions), "discrete" (81) or "multi_discrete"; ``obs_size``: the side of the square
    frames the policy sees (stable-baselines3's default CNN needs at least 36);
    ``frame_stack``: how many recent frames it sees at once; ``max_episode_steps``: None for
    the task's own length; ``dream_start``: how a YumeWorld episode opens, one of
    :data:`DREAM_STARTS` ("procworld": on ProcWorld's first frame of the episode's scene and
    seed, with the scene as prompt; "text": generated from the scene caption alone).
    """

    task: str
    action_space: str = "compact"
    obs_size: int = 64
    frame_stack: int = 4
    max_episode_steps: int | None = None
    dream_start: str = "procworld"

    def __post_init__(self) -> None:
        make_task(self.task)  # a clear error for an unknown name
        if self.obs_size < 8 or self.frame_stack < 1:
            raise ValueError(f"obs_size {self.obs_size} must be >= 8 and frame_stack {self.frame_stack} >= 1")
        if self.dream_start not in DREAM_STARTS:
            raise ValueError(f"unknown dream_start {self.dream_start!r}; expected one of {DREAM_STARTS}")

    @property
    def episode_steps(self) -> int:
        return self.max_episode_steps or make_task(self.task).max_episode_steps


def procworld_settings(model: WorldModel) -> dict[str, Any]:
    """ProcWorld arguments that match ``model``: frame size, frames per step and camera speeds."""
    return {"size": model.frame_size, "frames_per_step": model.chunk_frames, "speed": model.speed or DEFAULT_SPEED}


class ProcWorldStarts:
    """``starts(prompt, seed)``: ProcWorld's first frame (H, W, 3) uint8 of that scene and seed,
    rendered as :func:`procworld_settings` match it to ``model``; an env's callable ``image``."""

    def __init__(self, model: WorldModel) -> None:
        self.env = gym.make("yume_gym/ProcWorld-v0", **procworld_settings(model))

    def __call__(self, prompt: str | None, seed: int) -> np.ndarray:
        frame, _ = self.env.reset(seed=seed, options={"prompt": prompt} if prompt else None)
        return frame

    def __repr__(self) -> str:
        return "ProcWorldStarts()"


def procworld_env(view: AgentView, model: WorldModel, render_mode: str | None = None) -> gym.Env:
    """One ProcWorld env for ``view``, matched to ``model``, with observations at ``view.obs_size``."""
    env = gym.make(
        "yume_gym/ProcWorld-v0", task=view.task, action_space=view.action_space,
        max_episode_steps=view.episode_steps, render_mode=render_mode, **procworld_settings(model),
    )  # fmt: skip
    size = (view.obs_size, view.obs_size)
    if tuple(model.frame_size) == size:
        return env
    space = spaces.Box(0, 255, (*size, 3), np.uint8)
    return TransformObservation(env, lambda obs: resize_frames(obs[None, None], size)[0, 0], space)


def make_vec_env(world: str, view: AgentView, model: WorldModel, num_envs: int) -> VecEnv:
    """``num_envs`` envs of ``world`` ("procworld" or "yume") as the policy sees them (see the module doc).

    Seed it with ``venv.seed(seed)`` before the first ``reset()`` (stable-baselines3's ``PPO(seed=...)``
    does that).
    """
    if world == "yume":
        venv: VecEnv = YumeWorldSB3VecEnv(
            num_envs=num_envs, checkpoint=model, task=view.task, action_space=view.action_space,
            frame_size=view.obs_size, max_episode_steps=view.episode_steps,
            image=ProcWorldStarts(model) if view.dream_start == "procworld" else None,
        )  # fmt: skip
        keys: tuple[str, ...] = ()
    elif world == "procworld":
        venv = DummyVecEnv([lambda: procworld_env(view, model)] * num_envs)
        keys = TRUTH_KEYS
    else:
        raise ValueError(f"unknown world {world!r}; expected one of {WORLDS}")
    return VecFrameStack(VecMonitor(venv, info_keywords=keys), view.frame_stack, channels_order="last")

"""Reference agents: uniform random play, and scripted agents that read the frames.

They act through the interface of a stable-baselines3 policy, ``predict(observation,
state=None, episode_start=None, deterministic=False) -> (actions, state)``, on the batched
observations the trained agents see: ``(n, H, W, 3 * stack)`` uint8 with the newest frame in
the last three channels. So the evaluation runs every agent with the same code.

- :class:`RandomAgent`: uniform over the action space, from its own seed;
- :class:`ScriptedReacher`: turns until the target hue is centred, then walks up to it;
- :class:`ScriptedExplorer`: walks straight ahead and turns away when the view stops changing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from yume_gym.actions import COMPACT_ACTIONS, NUM_ROTATIONS, action_from_keys, make_action_space
from yume_gym.env.rewards import HueInView
from yume_gym.env.tasks import Task, make_task

BASELINES = ("random", "scripted")
INTENT_KEYS = {"forward": {"W"}, "left": {"LEFT"}, "right": {"RIGHT"}}


def intent_actions(kind: str) -> dict[str, Any]:
    """The action of each intent ("forward", "left", "right") in the action space ``kind``."""
    ids = {name: action_from_keys(keys) for name, keys in INTENT_KEYS.items()}
    if kind == "discrete":
        return ids
    if kind == "multi_discrete":
        return {name: np.array(divmod(i, NUM_ROTATIONS)) for name, i in ids.items()}
    if kind == "compact":
        compact = {m * NUM_ROTATIONS + r: index for index, (m, r) in enumerate(COMPACT_ACTIONS)}
        return {name: compact[i] for name, i in ids.items()}
    raise ValueError(f"unknown action space {kind!r}; expected 'discrete', 'multi_discrete' or 'compact'")


def newest_frames(observation: np.ndarray) -> np.ndarray:
    """(n, H, W, 3): the newest frame of each stacked observation (n, H, W, 3 * stack)."""
    observation = np.asarray(observation)
    if observation.ndim != 4 or observation.shape[-1] % 3:
        raise ValueError(f"observations of shape {observation.shape} are not (n, H, W, 3 * stack) frames")
    return observation[..., -3:]


class RandomAgent:
    """Uniform random actions from ``action_space``, drawn from ``seed``."""

    def __init__(self, action_space: spaces.Space, seed: int = 0) -> None:
        self.action_space = action_space
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the action stream from ``seed``."""
        self.action_space.seed(int(seed))

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, None]:
        return np.stack([self.action_space.sample() for _ in range(len(observation))]), None


class ScriptedReacher:
    """Turn towards the target hue until it is centred, then walk up to it.

    The target is the set of pixels :class:`~yume_gym.env.rewards.HueInView` finds in the newest
    frame. With fewer than ``min_pixels`` of them the agent searches: it turns right, and after
    ``search_turns`` turns in a row without a sight of the target it walks ahead for
    ``search_walk`` steps. With the target's centre of mass more than ``centred`` (a fraction
    of the frame width) off the middle it turns towards it, else it walks forward.
    """

    def __init__(self, hue: str, kind: str = "compact", min_pixels: int = 3, centred: float = 0.08,
                 search_turns: int = 12, search_walk: int = 4) -> None:
        self.hue = HueInView(hue)
        self.actions = intent_actions(kind)
        self.min_pixels, self.centred = int(min_pixels), float(centred)
        self.search_turns, self.search_walk = int(search_turns), int(search_walk)
        self.searching = np.zeros(0, dtype=int)  # steps of the current search, per env

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, None]:
        frames = newest_frames(observation)
        self.searching = _reset_rows(self.searching, len(frames), episode_start)
        actions = []
        for i, frame in enumerate(frames):
            mask = self.hue.mask(frame)  # (H, W)
            if mask.sum() < self.min_pixels:
                cycle = self.searching[i] % (self.search_turns + self.search_walk)
                self.searching[i] += 1
                actions.append(self.actions["right" if cycle < self.search_turns else "forward"])
                continue
            self.searching[i] = 0
            offset = np.nonzero(mask)[1].mean() / mask.shape[1] - 0.5  # centre of mass, -0.5 (left) .. 0.5
            intent = "forward" if abs(offset) <= self.centred else ("right" if offset > 0 else "left")
            actions.append(self.actions[intent])
        return np.stack(actions), None


class ScriptedExplorer:
    """Walk straight ahead; when the view stops changing (blocked), turn right ``turn_steps`` times.

    The view has stopped changing when the mean absolute difference between the newest frame and
    the one before is under ``still`` (0-255 scale).
    """

    def __init__(self, kind: str = "compact", still: float = 0.3, turn_steps: int = 4) -> None:
        self.actions = intent_actions(kind)
        self.still, self.turn_steps = float(still), int(turn_steps)
        self.previous: list[np.ndarray | None] = []
        self.turning = np.zeros(0, dtype=int)  # turns left to make, per env

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, None]:
        frames = newest_frames(observation).astype(np.int16)
        self.turning = _reset_rows(self.turning, len(frames), episode_start)
        if len(self.previous) != len(frames):
            self.previous = [None] * len(frames)
        actions = []
        for i, frame in enumerate(frames):
            before = None if episode_start is not None and episode_start[i] else self.previous[i]
            if before is not None and self.turning[i] == 0 and np.abs(frame - before).mean() < self.still:
                self.turning[i] = self.turn_steps
            self.previous[i] = frame
            if self.turning[i] > 0:
                self.turning[i] -= 1
                actions.append(self.actions["right"])
            else:
                actions.append(self.actions["forward"])
        return np.stack(actions), None


def _reset_rows(counters: np.ndarray, n: int, episode_start: Any) -> np.ndarray:
    """Per-env counters sized to ``n``, zeroed where an episode starts."""
    if len(counters) != n:
        return np.zeros(n, dtype=int)
    if episode_start is not None:
        counters[np.asarray(episode_start, dtype=bool)] = 0
    return counters


def make_baseline(name: str, task: str | Task, kind: str = "compact", seed: int = 0):
    """The baseline ``name`` ("random" or "scripted") for ``task`` in the action space ``kind``."""
    task = make_task(task)
    if name == "random":
        return RandomAgent(make_action_space(kind), seed)
    if name == "scripted":
        return ScriptedExplorer(kind) if task.target_hue is None else ScriptedReacher(task.target_hue, kind)
    raise ValueError(f"unknown baseline {name!r}; expected one of {BASELINES}")

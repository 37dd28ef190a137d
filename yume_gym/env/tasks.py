"""Named tasks: a reward over frames for any world, and a judge of success in the ground truth.

Each task pairs a reward function over frames (the same in ``yume_gym/YumeWorld-v0`` and
``yume_gym/ProcWorld-v0``) with a judge of ProcWorld's true state, and carries its training and
held-out scene captions; every env takes a task by name (``task="reach-red"``).
The tasks (:data:`TASK_NAMES`) and their rules: docs/architecture.md.

>>> task = make_task("reach-red")
>>> task.max_episode_steps, task.terminate_at_reward
(50, 4.0)
>>> task.eval_scenes[0]
'a grassy meadow with purple pillars and red pillars under a night sky'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from yume_gym.env.rewards import HueInView, Novelty, RewardFn

REACH_DISTANCE = 1.5  # metres between the camera and the pillar's surface that count as reached
# Centre-weighted share of the target hue that counts as reached in the frames. In procworld a
# pillar (radius 0.25-0.45 m) straight ahead fills it from about 0.8-1.3 m, under every sky, so the
# frames' verdict implies the true one; pillars standing in a row can fool it from farther away.
REACH_SHARE = 0.5
REACH_BONUS = 5.0  # reward for the step that reaches; the shaping terms stay under 1
EXPLORE_CELL = 1.0  # metres: the side of the ground cells that coverage counts
# Square metres covered in an episode that count as explored. Set for steps of 0.4 m (the embedded
# model's 4-frame chunk at the default speed): on 30 held-out scenes, random play covers 5.8 m^2
# in an episode on average and walking straight ahead (turning away when blocked) 17.0 m^2.
EXPLORE_AREA = 12.0
EPISODE_STEPS = 50

# The scene vocabulary of procworld's captions (procworld.captions), and which reach colours
# HueInView can tell apart under which skies (yellow and purple lose their hue at night).
GROUNDS = ("a grassy meadow", "a snowy field", "a sandy desert", "a stone plaza", "a muddy field")
SKIES = ("a clear sky", "an overcast sky", "a dusk sky", "a night sky")
REACH_SKIES = {"red": SKIES, "yellow": SKIES[:3], "purple": SKIES[:3]}
DISTRACTORS = ("green trees", "white walls", "black boxes", "{other} pillars")
EXPLORE_GROUPS = (
    "red pillars and green trees", "white walls and blue boxes", "yellow pillars",
    "green trees and black boxes", "purple pillars, white walls and orange boxes",
)  # fmt: skip


class Judge(Protocol):
    """Scores one ProcWorld episode from its infos: ``reset(info)`` then ``update(info)`` per step."""

    def reset(self, info: dict[str, Any]) -> dict[str, Any]: ...

    def update(self, info: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Task:
    """A named goal (see the module doc).

    ``make_reward()`` and ``make_judge()`` build fresh objects for one env (they keep episode
    state); ``terminate_at_reward`` ends an episode when a step's reward reaches it (None:
    episodes only time out); ``max_episode_steps`` is the episode length the task is meant for;
    ``target_hue`` names the :data:`~yume_gym.env.rewards.HUES` entry a reach task looks for.
    """

    name: str
    summary: str
    target_hue: str | None
    make_reward: Callable[[], RewardFn]
    make_judge: Callable[[], Judge]
    terminate_at_reward: float | None
    max_episode_steps: int
    train_scenes: tuple[str, ...]
    eval_scenes: tuple[str, ...]


class ReachReward:
    """Reward for walking up to something of one hue, from frames only.

    With s_t the centre-weighted share of the hue in the step's last frame
    (:class:`~yume_gym.env.rewards.HueInView`), the reward is ``s_t - s_{t-1}`` (turning towards
    the target and walking up to it pay; the sum over an episode is s_T - s_0, so dawdling
    earns nothing) plus ``bonus`` once s_t >= ``reach_share``. Below the share the reward is
    under 1, above it at least ``bonus - 1``, so ``terminate_at_reward = bonus - 1`` ends the
    episode exactly when the target fills the centre of the view.
    """

    def __init__(self, hue: str, reach_share: float = REACH_SHARE, bonus: float = REACH_BONUS) -> None:
        if not 0 < reach_share < 1:
            raise ValueError(f"reach_share {reach_share!r} must be in (0, 1)")
        if bonus < 2:
            raise ValueError(f"bonus {bonus!r} must be >= 2 so that reaching stands above the shaping terms")
        self.share = HueInView(hue)
        self.reach_share, self.bonus = float(reach_share), float(bonus)
        self.previous = 0.0

    def reset(self, frames: np.ndarray) -> None:
        """Start an episode from its opening frames."""
        self.previous = self.share(frames, {})

    def __call__(self, frames: np.ndarray, info: dict[str, Any]) -> float:
        share = self.share(frames, info)
        reward = share - self.previous + (self.bonus if share >= self.reach_share else 0.0)
        self.previous = share
        return float(reward)


class ReachJudge:
    """Success when the camera comes within ``distance`` metres of the surface of a ``colour``
    ``kind``; ``task_score`` is the current gap to the nearest one (inf when there is none)."""

    def __init__(self, colour: str, kind: str = "pillar", distance: float = REACH_DISTANCE) -> None:
        self.colour, self.kind, self.distance = colour, kind, float(distance)
        self.success = False

    def reset(self, info: dict[str, Any]) -> dict[str, Any]:
        self.success = False
        return self.update(info)

    def update(self, info: dict[str, Any]) -> dict[str, Any]:
        gaps = [o["distance"] - o["radius"] for o in _true_objects(info)
                if o["colour"] == self.colour and o["kind"] == self.kind]  # fmt: skip
        gap = min(gaps, default=math.inf)
        self.success = self.success or gap <= self.distance
        return {"task_success": self.success, "task_score": float(gap)}


class CoverageJudge:
    """Success when the camera's path has covered ``area`` square metres: the number of
    ``cell`` x ``cell`` ground cells any frame's pose fell in, times the cell area, is
    ``task_score``."""

    def __init__(self, area: float = EXPLORE_AREA, cell: float = EXPLORE_CELL) -> None:
        self.area, self.cell = float(area), float(cell)
        self.cells: set[tuple[int, int]] = set()

    def reset(self, info: dict[str, Any]) -> dict[str, Any]:
        self.cells = set()
        return self.update(info)

    def update(self, info: dict[str, Any]) -> dict[str, Any]:
        if "poses" not in info:
            raise KeyError('CoverageJudge needs info["poses"] (the true camera poses that ProcWorld reports)')
        xz = np.floor(np.asarray(info["poses"])[:, :2] / self.cell).astype(int)  # (N, 2) cell indices
        self.cells.update(map(tuple, xz.tolist()))
        covered = len(self.cells) * self.cell**2
        return {"task_success": covered >= self.area, "task_score": float(covered)}


def _true_objects(info: dict[str, Any]) -> list[dict[str, Any]]:
    if "objects" not in info:
        raise KeyError('a reach task is judged from info["objects"], the true state that ProcWorld reports')
    return info["objects"]


def _split(scenes: list[tuple[int, str]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, held-out) captions: a scene is held out when its ground and sky indices sum to 3 mod 4,
    so every ground and every sky is trained on, in other combinations."""
    train = tuple(text for key, text in scenes if key % 4 != 3)
    held_out = tuple(text for key, text in scenes if key % 4 == 3)
    return train, held_out


def reach_scenes(colour: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, held-out) captions with ``colour`` pillars and one distractor group of other colours."""
    others = [c for c in REACH_SKIES if c != colour]
    scenes = []
    for g, ground in enumerate(GROUNDS):
        for s, sky in enumerate(REACH_SKIES[colour]):
            k = g * len(SKIES) + s
            distractor = DISTRACTORS[k % len(DISTRACTORS)].format(other=others[k % len(others)])
            target = f"{colour} pillars"
            groups = f"{target} and {distractor}" if k % 2 == 0 else f"{distractor} and {target}"
            scenes.append((g + s, f"{ground} with {groups} under {sky}"))
    return _split(scenes)


def explore_scenes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, held-out) captions over every ground and sky with assorted objects."""
    scenes = []
    for g, ground in enumerate(GROUNDS):
        for s, sky in enumerate(SKIES):
            groups = EXPLORE_GROUPS[(g * len(SKIES) + s) % len(EXPLORE_GROUPS)]
            scenes.append((g + s, f"{ground} with {groups} under {sky}"))
    return _split(scenes)


def reach_task(colour: str) -> Task:
    """``reach-<colour>``: walk up to a pillar of ``colour`` (see the module doc)."""
    if colour not in REACH_SKIES:
        raise ValueError(f"no reach task for colour {colour!r}; expected one of {sorted(REACH_SKIES)}")
    train, held_out = reach_scenes(colour)
    return Task(
        name=f"reach-{colour}",
        summary=f"walk up to a {colour} pillar (within {REACH_DISTANCE:g} m of its surface)",
        target_hue=colour,
        make_reward=lambda: ReachReward(colour),
        make_judge=lambda: ReachJudge(colour),
        terminate_at_reward=REACH_BONUS - 1.0,
        max_episode_steps=EPISODE_STEPS,
        train_scenes=train,
        eval_scenes=held_out,
    )


def explore_task() -> Task:
    """``explore``: see new places; success is ground covered (see the module doc)."""
    train, held_out = explore_scenes()
    return Task(
        name="explore",
        summary=f"cover ground: at least {EXPLORE_AREA:g} m^2 of {EXPLORE_CELL:g} m cells in an episode",
        target_hue=None,
        make_reward=Novelty,
        make_judge=CoverageJudge,
        terminate_at_reward=None,
        max_episode_steps=EPISODE_STEPS,
        train_scenes=train,
        eval_scenes=held_out,
    )


TASKS: dict[str, Task] = {task.name: task for task in (*map(reach_task, REACH_SKIES), explore_task())}
TASK_NAMES = tuple(TASKS)


def make_task(task: str | Task) -> Task:
    """The task named ``task`` (one of :data:`TASK_NAMES`); a :class:`Task` is returned as is."""
    if isinstance(task, Task):
        return task
    if not isinstance(task, str) or task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {list(TASK_NAMES)} or a yume_gym.env.tasks.Task")
    return TASKS[task]


@dataclass(frozen=True)
class TaskSetup:
    """What an env builds from its ``task`` argument: see :func:`task_setup`."""

    task: Task | None
    reward_fn: RewardFn | None
    terminate_at_reward: float | None
    prompt: str | tuple[str, ...] | None


def task_setup(
    task: str | Task | None,
    reward_fn: RewardFn | None,
    terminate_at_reward: float | None,
    prompt: str | Sequence[str] | None,
) -> TaskSetup:
    """Resolve an env's ``task`` against its ``reward_fn``, ``terminate_at_reward`` and ``prompt``.

    Without a task the arguments pass through. With one, the task's reward function (a fresh
    one) and threshold are used, and episodes start from its training scenes unless ``prompt``
    names others; ``reward_fn`` must then be None (a task is a reward function), and an explicit
    ``terminate_at_reward`` overrides the task's.
    """
    if task is None:
        return TaskSetup(None, reward_fn, terminate_at_reward, prompt)
    if reward_fn is not None:
        raise ValueError("pass either task or reward_fn, not both: a task brings its own reward function")
    task = make_task(task)
    threshold = task.terminate_at_reward if terminate_at_reward is None else terminate_at_reward
    return TaskSetup(task, task.make_reward(), threshold, task.train_scenes if prompt is None else prompt)

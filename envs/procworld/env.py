"""The procedural ground-truth world as a Gymnasium environment (``yume_gym/ProcWorld-v0``)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from procworld.captions import parse_caption, scene_caption
from procworld.events import parse_event
from procworld.scene import build_scene, random_spec
from procworld.sim import ProcWorld
from yume_gym.actions import (
    ACTION_SPACE_KINDS,
    DEFAULT_SPEED,
    SpeedSuffix,
    caption_for_action,
    make_action_space,
    to_action_id,
)
from yume_gym.events import merge_start_options, validate_event_text
from yume_gym.env.frames import chunk_metadata
from yume_gym.env.tasks import Task, task_setup

RESET_OPTIONS = ("prompt", "events")
RewardFn = Callable[[np.ndarray, dict], float]
_SEED_HIGH = 2**31 - 1


class ProcWorldEnv(gym.Env):
    """A procedural first-person 3D world: the ground truth of the world-model envs.

    ## Description

    A numpy renderer draws a textured ground, a cloudy sky, pillars, boxes, trees and walls
    with perspective, sunlight and fog. Scenes come from a caption ("a snowy field with red
    pillars under a dusk sky", :mod:`procworld.captions`) or at random from the seed. Text
    events ("night falls", "a red pillar appears", :mod:`procworld.events`) change the world
    over about a second. It takes the same actions and gives the same observations as
    ``yume_gym/YumeWorld-v0``, so an agent trained in the generated world is scored here, and
    the same seed, prompt, events and actions give the same frames every time.

    ## Action Space

    ``action_space="discrete"`` (default): ``Discrete(81)``, id = movement * 9 + rotation (see
    :mod:`yume_gym.actions`); ``"multi_discrete"``: ``MultiDiscrete([9, 9])``; ``"compact"``:
    ``Discrete(9)`` = no-op, W, S, A, D, ←, →, ↑, ↓. A step holds the action for
    ``frames_per_step`` frames. Speeds follow ``speed`` (a caption speed suffix,
    :mod:`procworld.camera`): by default 0.1 m and 2 degrees per frame.

    ## Observation Space

    The last frame of the step's chunk, ``Box(0, 255, (H, W, 3), uint8)``.

    ## Rewards

    0.0 unless ``reward_fn(frames, info) -> float`` is given; it gets the chunk's frames
    ``(N, H, W, 3)`` uint8 and the step's info, which holds the true state. A reward function
    with ``reset(frames)`` is reset with each episode's opening frames. ``task="reach-red"`` (a
    name from :data:`yume_gym.env.tasks.TASK_NAMES`) brings the task's reward over frames, its
    episode-ending threshold and its training scenes, exactly as in the world-model env, and
    judges success from the true state: every info then holds ``task_success`` and
    ``task_score`` (see :mod:`yume_gym.env.tasks`).

    ## Starting State

    ``reset(seed=..., options={"prompt": caption, "events": [(step, text), ...]})``. The prompt
    is parsed into a scene (ValueError naming unknown words); a sequence of prompts starts
    each episode from one of them, drawn from the seed; without one the scene is drawn from the
    seed. The layout and every later random choice come from the seed. The camera
    starts at (0, 0) looking along +z, level, with an object 5-8 m ahead. ``events`` follows
    :func:`yume_gym.events.validate_schedule`: step 0 is the opening chunk that ``reset``
    draws (no-op action), step k the chunk of the k-th ``step``; an event starts with the
    first frame of its step's chunk, and its change stays (clearing with None only ends the
    text; ``reset`` restores the scene).

    ## Episode End

    Truncation after ``max_episode_steps`` (200 with ``gym.make``). Termination only when
    ``terminate_at_reward`` is set and a step's reward reaches it.

    ## Arguments

    - ``size``: frame size, an int (square) or (height, width); default 64.
    - ``frames_per_step``: frames per chunk, default 8.
    - ``speed``: a :class:`yume_gym.actions.SpeedSuffix` (default: the released default).
    - ``action_space``, ``prompt``, ``events``: see above (defaults for every reset).
    - ``reward_fn``, ``terminate_at_reward``: the reward hook and its termination threshold.
    - ``task``: a task name or :class:`yume_gym.env.tasks.Task` instead of ``reward_fn``.
    - ``event_frames``: frames an event takes to come in fully (default 16).
    - ``render_mode``: None or ``"rgb_array"`` (the last frame).

    ``info``: ``frames`` (N, H, W, 3) uint8; ``poses`` (N, 4) and ``pose`` (4,) float64 camera
    poses (x, z, yaw, pitch) in metres and radians; ``objects`` (the true state of every object,
    see :meth:`procworld.sim.ProcWorld.object_states`, with pixel counts of the last frame);
    ``scene`` (the scene caption); ``caption`` (action caption, scene caption and event, as the
    world model reads them); ``event`` (the active event text or None); ``event_started`` (the
    canonical text of an event that began this step, or None); ``step``; ``frame`` (index of
    the last frame); ``action_id`` (steps only); with a task, ``task_success`` and
    ``task_score``. ``set_event(text)`` starts an event live.

    >>> env = ProcWorldEnv(size=32, frames_per_step=4)
    >>> obs, info = env.reset(seed=0, options={"prompt": "a snowy field with red pillars under a dusk sky"})
    >>> obs.shape, info["frames"].shape
    ((32, 32, 3), (4, 32, 32, 3))
    >>> obs, reward, terminated, truncated, info = env.step(9)  # W
    >>> round(float(info["pose"][1]), 2)  # 4 frames of 0.1 m forward
    0.4
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 16}

    def __init__(
        self,
        size: int | tuple[int, int] = 64,
        frames_per_step: int = 8,
        speed: SpeedSuffix | None = None,
        action_space: str = "discrete",
        prompt: str | Sequence[str] | None = None,
        events: Sequence[tuple[int, str]] | None = None,
        reward_fn: RewardFn | None = None,
        terminate_at_reward: float | None = None,
        event_frames: int = 16,
        render_mode: str | None = None,
        task: str | Task | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not supported; use None or 'rgb_array'")
        if action_space not in ACTION_SPACE_KINDS:
            raise ValueError(f"unknown action_space {action_space!r}; expected one of {ACTION_SPACE_KINDS}")
        if not _positive_int(frames_per_step):
            raise ValueError(f"frames_per_step {frames_per_step!r} must be an integer >= 1")
        if not _positive_int(event_frames):
            raise ValueError(f"event_frames {event_frames!r} must be an integer >= 1")
        setup = task_setup(task, reward_fn, terminate_at_reward, prompt)
        reward_fn, terminate_at_reward, prompt = setup.reward_fn, setup.terminate_at_reward, setup.prompt
        if reward_fn is not None and not callable(reward_fn):
            raise TypeError(f"reward_fn must be callable as reward_fn(frames, info) -> float, not {reward_fn!r}")
        if terminate_at_reward is not None and not isinstance(terminate_at_reward, numbers.Real):
            raise TypeError(f"terminate_at_reward must be a number or None, got {terminate_at_reward!r}")
        if speed is not None and not isinstance(speed, SpeedSuffix):
            raise TypeError(f"speed must be a yume_gym.actions.SpeedSuffix or None, got {type(speed).__name__}")
        self.size = _frame_size(size)
        self.frames_per_step = int(frames_per_step)
        self.speed = DEFAULT_SPEED if speed is None else speed
        self.event_frames = int(event_frames)
        self.metadata = chunk_metadata(self.metadata, 16, self.frames_per_step)
        self.action_kind = action_space
        self.reward_fn = reward_fn
        self.terminate_at_reward = terminate_at_reward
        self.task = setup.task
        self.judge = None if setup.task is None else setup.task.make_judge()
        self.render_mode = render_mode
        self.defaults: dict[str, Any] = {"prompt": None, "events": ()}
        self.defaults = self._start_options({"prompt": prompt, "events": events or ()})
        self.action_space = make_action_space(action_space)
        self.observation_space = spaces.Box(0, 255, shape=(*self.size, 3), dtype=np.uint8)
        self.world: ProcWorld | None = None

    # ------------------------------------------------------------------------------- options
    def _start_options(self, options: dict[str, Any] | None) -> dict[str, Any]:
        if options is None:
            return dict(self.defaults)
        hint = " (this world starts from a prompt, not an image)" if isinstance(options, dict) and "image" in options else ""
        merged = merge_start_options(self.defaults, options, RESET_OPTIONS, hint)
        prompt = merged["prompt"]
        prompts = (prompt,) if isinstance(prompt, str) else prompt
        merged["specs"] = None if prompts is None else tuple(parse_caption(p) for p in prompts)
        for i, (step, text) in enumerate(merged["events"]):
            if text is not None:
                try:
                    parse_event(text)
                except ValueError as err:
                    raise ValueError(f"events[{i}] = {(step, text)!r}: {err}") from err
        return merged

    # --------------------------------------------------------------------------- reset, step
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        start = self._start_options(options)
        scene_seed = int(self.np_random.integers(_SEED_HIGH))
        specs = start["specs"]
        if specs is None:
            spec = random_spec(self.np_random)
        else:
            spec = specs[0] if len(specs) == 1 else specs[int(self.np_random.integers(len(specs)))]
        self.world = ProcWorld(build_scene(spec, scene_seed), self.size, self.speed, self.event_frames)
        self._scheduled = dict(start["events"])
        self._live: dict[int, str | None] = {}
        self._event: str | None = None
        self._step = 0
        obs, info = self._chunk(0, None)
        if callable(getattr(self.reward_fn, "reset", None)):
            self.reward_fn.reset(info["frames"].copy())
        if self.judge is not None:
            info.update(self.judge.reset(info))
        return obs, info

    def step(self, action: Any):
        if self.world is None:
            raise RuntimeError("step() was called before reset(); call env.reset() first")
        action_id = to_action_id(action, self.action_kind)
        self._step += 1
        obs, info = self._chunk(action_id, action_id)
        reward = 0.0
        if self.reward_fn is not None:
            reward = _checked_reward(self.reward_fn(info["frames"].copy(), dict(info)))
        if self.judge is not None:  # after the reward: the reward sees frames, never the verdict
            info.update(self.judge.update(info))
        terminated = self.terminate_at_reward is not None and reward >= self.terminate_at_reward
        return obs, float(reward), bool(terminated), False, info

    def _chunk(self, action_id: int, reported_id: int | None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start this step's event, draw the chunk, and build (observation, info)."""
        started = None
        if self._step in self._scheduled or self._step in self._live:
            text = self._scheduled[self._step] if self._step in self._scheduled else self._live[self._step]
            self._event = text
            if text is not None:
                started = self.world.trigger(text).text
        frames, poses, pixel_ids = self.world.advance([action_id] * self.frames_per_step, with_ids=True)
        scene = scene_caption(self.world.scene)
        caption = " ".join(p for p in (caption_for_action(action_id, self.speed), scene, self._event) if p)
        info = {
            "frames": frames, "poses": poses, "pose": poses[-1].copy(),
            "objects": self.world.object_states(pixel_ids), "scene": scene, "caption": caption,
            "event": self._event, "event_started": started, "step": self._step, "frame": self.world.frame - 1,
        }  # fmt: skip
        if reported_id is not None:
            info["action_id"] = reported_id
        self._last_frame = frames[-1]
        return frames[-1].copy(), info

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; make the env with render_mode='rgb_array'")
            return None
        if self.world is None:
            raise RuntimeError("render() was called before reset(); call env.reset() first")
        return self._last_frame.copy()

    def set_event(self, text: str | None) -> None:
        """Start the event ``text`` with the next step's chunk (None clears the event text).

        Raises ValueError for a text this world does not know. A scheduled entry at the same
        step wins over a live one.
        """
        if self.world is None:
            raise RuntimeError("set_event() was called before reset(); call env.reset() first")
        text = validate_event_text(text, "set_event")
        if text is not None:
            parse_event(text)
        self._live[self._step + 1] = text


def _positive_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def _frame_size(size: Any) -> tuple[int, int]:
    if _positive_int(size):
        size = (int(size), int(size))
    pair = isinstance(size, (tuple, list)) and len(size) == 2
    if not (pair and all(_positive_int(v) and 8 <= v <= 1024 for v in size)):
        raise ValueError(f"size {size!r} must be an int or (height, width) with sides in 8..1024")
    return int(size[0]), int(size[1])


def _checked_reward(reward: Any) -> float:
    if isinstance(reward, (bool, np.bool_)) or not isinstance(reward, numbers.Real) or not math.isfinite(reward):
        raise TypeError(f"reward_fn returned {reward!r}; it must return a finite float")
    return float(reward)

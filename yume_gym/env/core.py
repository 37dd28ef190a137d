"""The Gymnasium-facing step of a batch of worlds, written once.

:class:`WorldEnvCore` turns a :class:`~yume_gym.world.batch.WorldBatch` into env semantics: it
validates reset options and actions, converts actions to the 81 action ids, builds
observations, calls the reward hook, and assembles each row's ``info``. The single env
(:class:`yume_gym.env.single.YumeWorldEnv`) is a batch-of-one view of it; the vector env
(:class:`yume_gym.env.vector.YumeWorldVectorEnv`) steps all its rows in one call.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from yume_gym.actions import ACTION_SPACE_KINDS, make_action_space, to_action_id
from yume_gym.events import merge_start_options, validate_event_text
from yume_gym.images import prepare_image
from yume_gym.world.batch import Chunk, WorldBatch, WorldSnapshot, WorldStart
from yume_gym.env.options import EnvOptions, frame_size_pair
from yume_gym.env.rewards import RewardFn
from yume_gym.env.tasks import Task, task_setup
from yume_gym.world.bundle import WorldModel, load_world_model

OBSERVATION_MODES = ("frame", "chunk", "latent")
RESET_OPTIONS = ("image", "prompt", "events")
_EMPTY_START = {"image": None, "prompt": None, "events": ()}
_SEED_HIGH = 2**63 - 1


def episode_seeds(rng: np.random.Generator, seed: int | Sequence[int] | None, n: int) -> list[int]:
    """The world seeds of ``n`` episodes starting together.

    A reset that names a seed starts its rows on ``seed, seed + 1, ...`` (Gymnasium's rule for
    vector envs, as ``SyncVectorEnv`` and stable-baselines3's ``DummyVecEnv`` seed their envs),
    or on the listed seeds; so ``reset(seed=s)`` opens on the world of seed ``s``, the same
    seed an ``image(prompt, seed)`` callable is given (a ProcWorld episode reset with ``s``
    opens on the frame that the world model then continues). A reset without a seed, and every
    autoreset, draws the seeds from ``rng``, which the last seeded reset fixed.
    """
    if seed is None:
        return [int(s) for s in rng.integers(_SEED_HIGH, size=n)]
    problem = ValueError(f"seed {seed!r} must be None, a non-negative integer or a list of {n} of them (one per env)")
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
        seeds = [seed + i for i in range(n)]
    elif isinstance(seed, Sequence) and not isinstance(seed, str) or isinstance(seed, np.ndarray):
        seeds = list(seed)
    else:
        raise problem
    if len(seeds) != n or not all(isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_))
                                  and 0 <= s < 2**63 for s in seeds):
        raise problem
    return [int(s) for s in seeds]


@dataclass(frozen=True)
class StepTimings:
    """Wall-clock seconds of the batched call that produced a step (shared by its rows).

    Timings are measurements, not env state: all ``StepTimings`` compare equal, so determinism
    checks (Gymnasium's ``check_env``) compare only what the env computes.
    """

    text_s: float = field(default=0.0, compare=False)
    sample_s: float = field(default=0.0, compare=False)
    decode_s: float = field(default=0.0, compare=False)
    total_s: float = field(default=0.0, compare=False)


class WorldEnvCore:
    """Env semantics for ``num_worlds`` rows of one world model (see the module doc).

    ``image``/``prompt``/``events`` are the default start of every episode; reset options
    override them key by key. A prompt may be a sequence of prompts: each episode starts from
    one of them, picked by the episode's seed (``prompts[seed % len(prompts)]``). An image may
    be a callable ``image(prompt, seed)`` returning one: each episode then opens on the frame it
    makes for the episode's prompt and seed (a real first observation, as world-model agents
    are trained from). The reward
    hook ``reward_fn(frames, info) -> float`` gets the chunk's frames (T, H, W, 3) uint8 at the
    model's resolution; with ``terminate_at_reward`` set, an episode terminates when a step's
    reward reaches it. A reward function with episode state (``reset(frames)``, as
    :mod:`yume_gym.env.rewards` defines) is reset with each episode's opening frames, and with
    several rows every row gets its own copy of it.
    """

    def __init__(self, model: WorldModel, num_worlds: int = 1, options: EnvOptions | None = None) -> None:
        options = options or EnvOptions()
        if options.action_space not in ACTION_SPACE_KINDS:
            raise ValueError(f"unknown action_space {options.action_space!r}; expected one of {ACTION_SPACE_KINDS}")
        if options.observation not in OBSERVATION_MODES:
            raise ValueError(f"unknown observation {options.observation!r}; expected one of {OBSERVATION_MODES}")
        reward_fn = options.reward_fn
        if reward_fn is not None and not callable(reward_fn):
            raise TypeError(f"reward_fn must be callable as reward_fn(frames, info) -> float, got {reward_fn!r}")
        threshold = options.terminate_at_reward
        if threshold is not None and not isinstance(threshold, numbers.Real):
            raise TypeError(f"terminate_at_reward must be a number or None, got {threshold!r}")
        self.model = model
        self.options = options
        self.world = WorldBatch(model, num_worlds)
        self.action_kind = options.action_space
        self.observation_mode = options.observation
        self.obs_size = frame_size_pair(options.frame_size, model.frame_size)
        if not isinstance(options.return_frames, bool):
            raise TypeError(f"return_frames={options.return_frames!r} must be True or False")
        self.decode = _frames_needed(options.return_frames or reward_fn is not None, options.observation,
                                     options.render_mode)
        self.reward_fn = reward_fn
        stateful = callable(getattr(reward_fn, "reset", None)) and num_worlds > 1
        self._row_rewards = [copy.deepcopy(reward_fn) if stateful else reward_fn for _ in range(num_worlds)]
        self.terminate_at_reward = threshold
        self.defaults = dict(_EMPTY_START)  # the constructor's start is validated like reset options
        self.defaults = self.start_options(
            {"image": options.image, "prompt": options.prompt, "events": options.events or ()})
        self.single_action_space = make_action_space(options.action_space)
        self.single_observation_space = self._observation_space()

    def _observation_space(self) -> spaces.Box:
        if self.observation_mode == "latent":
            return spaces.Box(-np.inf, np.inf, shape=self.model.chunk_latent_shape, dtype=np.float32)
        h, w = self.obs_size
        shape = (h, w, 3) if self.observation_mode == "frame" else (self.model.chunk_frames, h, w, 3)
        return spaces.Box(0, 255, shape=shape, dtype=np.uint8)

    # ------------------------------------------------------------------------------ options
    def start_options(self, options: dict[str, Any] | None) -> dict[str, Any]:
        """Validate reset ``options`` and merge them over the defaults."""
        if options is None:
            return dict(self.defaults)
        merged = merge_start_options(self.defaults, options, RESET_OPTIONS)
        if merged["image"] is not None and not callable(merged["image"]):
            merged["image"] = prepare_image(merged["image"], *self.model.frame_size)
        return merged

    def _world_start(self, seed: int, options: dict[str, Any]) -> WorldStart:
        prompt = options["prompt"]
        if isinstance(prompt, tuple):
            prompt = prompt[seed % len(prompt)]
        image = options["image"]
        if image is None and prompt is None:
            prompt = self.model.generation.default_prompt
        if callable(image):
            try:
                image = prepare_image(image(prompt, seed), *self.model.frame_size)
            except (TypeError, ValueError) as err:
                raise type(err)(f"the image callable {image!r} must return an image for (prompt, seed): {err}") from err
        return WorldStart(seed=seed, image=image, prompt=prompt, events=options["events"])

    # --------------------------------------------------------------------------- reset, step
    def reset(self, rows: Sequence[int], seeds: Sequence[int], options: dict[str, Any] | None):
        """Start ``rows`` with one seed each; returns (observations (n, ...), infos)."""
        merged = self.start_options(options)
        starts = [self._world_start(seed, merged) for seed in seeds]
        chunk = self.world.start(rows, starts, decode=self.decode)
        kind = "+".join(k for k, v in (("image", merged["image"]), ("text", starts[0].prompt)) if v is not None)
        infos = [{**self._info(chunk, i), "start": kind} for i in range(len(chunk.rows))]
        for i, row in enumerate(chunk.rows):
            if callable(getattr(self._row_rewards[row], "reset", None)):
                self._row_rewards[row].reset(chunk.frames[i].copy())
        return self.observe(chunk), infos

    def step(self, rows: Sequence[int], actions: Sequence[Any]):
        """Advance ``rows``; returns (observations, rewards (n,), terminated (n,), infos)."""
        ids = [to_action_id(a, self.action_kind) for a in actions]
        chunk = self.world.advance(rows, ids, decode=self.decode)
        infos, rewards, terminated = [], np.zeros(len(ids)), np.zeros(len(ids), dtype=bool)
        for i, action_id in enumerate(ids):
            info = {**self._info(chunk, i), "action_id": action_id}
            frames = None if chunk.frames is None else chunk.frames[i]  # None: not decoded, no reward_fn
            rewards[i] = self._reward(self._row_rewards[chunk.rows[i]], frames, info)
            terminated[i] = self.terminate_at_reward is not None and rewards[i] >= self.terminate_at_reward
            infos.append(info)
        return self.observe(chunk), rewards, terminated, infos

    def _info(self, chunk: Chunk, i: int) -> dict[str, Any]:
        info = {"frames": chunk.frames[i].copy()} if self.options.return_frames else {}
        return {
            **info,
            "caption": chunk.captions[i],
            "event": chunk.events[i],
            "step": chunk.steps[i],
            "timings": StepTimings(**{k: chunk.timings.get(k, 0.0) for k in ("text_s", "sample_s", "decode_s", "total_s")}),
        }

    @staticmethod
    def _reward(reward_fn: RewardFn | None, frames: np.ndarray | None, info: dict[str, Any]) -> float:
        if reward_fn is None:
            return 0.0
        reward = reward_fn(frames.copy(), dict(info))
        if isinstance(reward, (bool, np.bool_)) or not isinstance(reward, numbers.Real) or not math.isfinite(reward):
            raise TypeError(f"reward_fn returned {reward!r}; it must return a finite float")
        return float(reward)

    # ------------------------------------------------------------------------- observations
    def observe(self, chunk: Chunk) -> np.ndarray:
        """Batched observations of ``chunk`` in this core's observation mode."""
        if self.observation_mode == "latent":
            return chunk.latents.numpy().astype(np.float32)  # (n, C, F, h, w)
        frames = chunk.frames[:, -1:] if self.observation_mode == "frame" else chunk.frames  # (n, T, H, W, 3)
        frames = resize_frames(frames, self.obs_size)
        return frames[:, 0] if self.observation_mode == "frame" else frames

    def is_started(self, row: int) -> bool:
        """Whether ``row`` has been reset."""
        return self.world.is_started(row)

    def close(self) -> None:
        """Nothing to release: the world model is shared (a remote core gives its rows back)."""

    def render(self, row: int) -> np.ndarray:
        """The last frame of ``row``'s latest chunk, (H, W, 3) uint8 at the model's resolution."""
        frames = self.world.last_chunk(row).frames
        if frames is None:
            raise RuntimeError("no frames were decoded (observation='latent' with return_frames=False); "
                               "pass render_mode='rgb_array' or return_frames=True to render")
        return frames[0, -1].copy()

    def set_event(self, row: int, text: str | None) -> None:
        """Make ``text`` the live event of ``row`` from its next step on; None clears it."""
        self.world.set_event(row, validate_event_text(text, "set_event"))

    def get_state(self, row: int) -> WorldSnapshot:
        return self.world.get_state(row)

    def set_state(self, row: int, snapshot: WorldSnapshot) -> np.ndarray:
        """Restore ``row``; returns its observation (of the snapshot's latest chunk)."""
        self.world.set_state(row, snapshot)
        return self.observe(self.world.last_chunk(row))[0]


def _frames_needed(whole_chunk: bool, observation: str, render_mode: str | None) -> str:
    """The ``WorldBatch`` decode mode: "all" when the whole chunk is wanted (info["frames"], a
    reward), "last" for a frame observation or rendering, "none" for latents alone."""
    if whole_chunk or observation == "chunk":
        return "all"
    return "last" if observation == "frame" or render_mode is not None else "none"


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (n, T, H, W, 3) uint8 frames to ``size`` = (h, w) with antialiased bilinear filtering."""
    n, t, h, w, _ = frames.shape
    if (h, w) == tuple(size):
        return frames.copy()
    x = torch.from_numpy(frames).reshape(n * t, h, w, 3).permute(0, 3, 1, 2).float()  # (n*T, 3, H, W)
    x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    x = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)  # (n*T, h, w, 3)
    return x.reshape(n, t, *size, 3).numpy()


def build_core(options: EnvOptions, num_worlds: int) -> tuple[WorldEnvCore, Task | None]:
    """The core of an env of ``num_worlds`` rows and its task, from the env's options.

    The world model comes from :func:`resolve_world_model`; the reward, threshold and prompts
    of ``options.task`` from :func:`yume_gym.env.tasks.task_setup`. With ``options.server``,
    the rows live on that world server instead (:mod:`yume_gym.env.remote`).
    """
    if options.server is not None:
        from yume_gym.env.remote.client import RemoteWorldCore  # Ray only for remote envs

        core = RemoteWorldCore(options, num_worlds)
        return core, core.task
    setup = task_setup(options.task, options.reward_fn, options.terminate_at_reward, options.prompt)
    resolved = dataclasses.replace(options, reward_fn=setup.reward_fn,
                                   terminate_at_reward=setup.terminate_at_reward, prompt=setup.prompt)
    model = resolve_world_model(options.checkpoint, options.device, options.dtype)
    return WorldEnvCore(model, num_worlds, resolved), setup.task


def resolve_world_model(checkpoint: Any, device: str | torch.device, dtype: torch.dtype | str) -> WorldModel:
    """A loaded ``WorldModel`` as is, or the shared cached instance for a path or None."""
    if isinstance(checkpoint, WorldModel):
        return checkpoint
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be None, a directory path or a WorldModel, got {type(checkpoint).__name__}")
    return load_world_model(checkpoint, device=device, dtype=dtype)

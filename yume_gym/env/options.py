"""``EnvOptions``: every argument of a world-model env, in one object passed whole.

``YumeWorldEnv``, its vector env and the Yume-5B ids take an ``EnvOptions`` or the same names
as keyword arguments (what ``gym.make`` passes); :meth:`EnvOptions.build` merges the two and
names the known fields when a keyword is unknown.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from yume_gym.env.rewards import RewardFn
from yume_gym.images import MAX_FRAME_SIDE



@dataclasses.dataclass(frozen=True)
class EnvOptions:
    checkpoint: str | os.PathLike | Any | None = None
    """None (the embedded model), a bundle directory, or a loaded ``WorldModel``"""
    device: str | torch.device = "cpu"
    """where the world model runs"""
    dtype: torch.dtype | str = torch.float32
    """the world model's precision"""
    action_space: str = "discrete"
    """"discrete" (81 actions), "multi_discrete" ((movement, rotation)) or "compact" (9)"""
    observation: str = "frame"
    """"frame" (the chunk's last frame), "chunk" (all its frames) or "latent" (its latents)"""
    frame_size: int | tuple[int, int] | None = None
    """observation frames resized to this (height, width); None keeps the model's size"""
    reward_fn: RewardFn | None = None
    """reward_fn(frames, info) -> float, called on every chunk; None gives 0.0"""
    terminate_at_reward: float | None = None
    """an episode terminates when a step's reward reaches this"""
    task: Any = None
    """a task name of yume_gym.env.tasks.TASK_NAMES or a Task: its reward, threshold and scenes"""
    image: Any = None
    """the default start image: a path, an (H, W, 3) uint8 array, a PIL image or image(prompt, seed)"""
    prompt: str | Sequence[str] | None = None
    """the default start prompt, or prompts picked per episode by its seed"""
    events: Sequence[tuple[int, str]] | None = None
    """the default event schedule [(step, text), ...]"""
    render_mode: str | None = None
    """None or "rgb_array" (the last frame at the model's resolution)"""
    return_frames: bool = True
    """put the chunk's frames in info["frames"]; False skips that copy (and decoding, where nothing needs frames)"""
    server: Any = None
    """a WorldServerPool (start_servers) or a world server's Ray actor: the rows run there, batched"""

    @classmethod
    def build(cls, options: EnvOptions | None = None, **kwargs: Any) -> EnvOptions:
        """``options`` (or the defaults) with ``kwargs`` replacing fields of the same name."""
        if options is not None and not isinstance(options, EnvOptions):
            raise TypeError(f"options must be an EnvOptions, got {type(options).__name__}; "
                            "pass the env's arguments as keywords or as EnvOptions(...)")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown env argument(s) {unknown}; known arguments: {sorted(known)}")
        return dataclasses.replace(options or cls(), **kwargs)


def frame_size_pair(frame_size: int | tuple[int, int] | None, model_size: tuple[int, int]) -> tuple[int, int]:
    """``frame_size`` as (height, width), ``model_size`` for None; a clear error otherwise."""
    if frame_size is None:
        return model_size
    if isinstance(frame_size, (int, np.integer)) and not isinstance(frame_size, bool):
        frame_size = (int(frame_size), int(frame_size))
    if not (isinstance(frame_size, (tuple, list)) and len(frame_size) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 < v <= MAX_FRAME_SIDE
            for v in frame_size)):
        raise ValueError(f"frame_size {frame_size!r} must be None, an int in 1..{MAX_FRAME_SIDE} "
                         "or (height, width) of such ints")
    return int(frame_size[0]), int(frame_size[1])

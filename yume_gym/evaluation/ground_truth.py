"""Held-out ground-truth episodes: procworld scenes walked chunk by chunk with known actions.

Episode ``i`` of seed ``s`` is a fresh random scene (never one of a training dataset's, whose
clips depend on the dataset seed) started with a no-op frame, then ``chunks`` chunks of
``chunk_frames`` frames, each moved by one action of the walker policy of
``procworld.dataset`` (a new action every chunk, so every chunk tests action following).
An optional event starts at a given chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from procworld.captions import scene_caption
from procworld.dataset import sample_action
from procworld.scene import build_scene, random_spec
from procworld.sim import ProcWorld

from yume_gym.actions import SpeedSuffix

NOOP_ACTION = 0


@dataclass(frozen=True)
class Episode:
    """``frames`` (1 + chunks*F, H, W, 3) uint8: the start frame, then each chunk's frames;
    ``actions`` (chunks,) action ids; the scene caption; the event and its chunk (or None)."""

    frames: np.ndarray
    actions: np.ndarray
    scene: str
    event: str | None
    event_chunk: int | None


def ground_truth_episode(seed: int, index: int, chunks: int, chunk_frames: int, size: int,
                         speed: SpeedSuffix, event: str | None = None, event_chunk: int | None = None,
                         actions: np.ndarray | None = None) -> Episode:
    """Episode ``index`` of ``seed`` (see the module doc); ``actions`` overrides the walker's."""
    rng = np.random.default_rng([seed, index])
    spec = random_spec(rng)
    world = ProcWorld(build_scene(spec, int(rng.integers(2**31 - 1))), (size, size), speed)
    frames = [world.advance([NOOP_ACTION])[0]]
    chosen = []
    for k in range(1, chunks + 1):
        if event is not None and k == event_chunk:
            world.trigger(event)
        action = int(actions[k - 1]) if actions is not None else sample_action(rng, float(world.pose[3]))
        frames.append(world.advance([action] * chunk_frames)[0])
        chosen.append(action)
    return Episode(np.concatenate(frames), np.asarray(chosen), scene_caption(spec), event, event_chunk)

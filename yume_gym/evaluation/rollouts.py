"""World-model rollouts paired with ground-truth episodes, and the model variants compared."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from yume_gym.evaluation.ground_truth import Episode
from yume_gym.world.batch import WorldBatch, WorldStart
from yume_gym.world.bundle import WorldModel


@contextmanager
def channel_branch_off(model: WorldModel) -> Iterator[WorldModel]:
    """``model`` with its channel branch switched off inside the block (TSCM spatial tiers only)."""
    active = model.generator.config.channel_branch_active
    model.generator.configure(channel_branch_active=False)
    try:
        yield model
    finally:
        model.generator.configure(channel_branch_active=active)


def generate(model: WorldModel, episodes: list[Episode], seed: int, with_prompt: bool = True,
             with_events: bool = True) -> np.ndarray:
    """Frames (N, 1 + chunks*F, H, W, 3) uint8 in the episodes' layout: each world starts from its
    episode's first frame (and scene caption), then takes the episode's actions (and event)."""
    world = WorldBatch(model, len(episodes))
    rows = list(range(len(episodes)))
    starts = [
        WorldStart(seed=seed + i, image=ep.frames[0], prompt=ep.scene if with_prompt else None,
                   events=((ep.event_chunk, ep.event),) if with_events and ep.event else ())
        for i, ep in enumerate(episodes)
    ]
    world.start(rows, starts)
    out = [np.stack([ep.frames[:1] for ep in episodes])]  # (N, 1, H, W, 3)
    for k in range(len(episodes[0].actions)):
        out.append(world.advance(rows, [int(ep.actions[k]) for ep in episodes]).frames)  # (N, F, H, W, 3)
    return np.concatenate(out, axis=1)


def chunk_latency(model: WorldModel, episode: Episode, seed: int) -> np.ndarray:
    """Seconds per chunk (chunks,) of one world taking ``episode``'s actions."""
    world = WorldBatch(model, 1)
    world.start([0], [WorldStart(seed=seed, image=episode.frames[0], prompt=episode.scene)])
    seconds = []
    for action in episode.actions:
        t0 = time.perf_counter()
        world.advance([0], [int(action)])
        seconds.append(time.perf_counter() - t0)
    return np.asarray(seconds)

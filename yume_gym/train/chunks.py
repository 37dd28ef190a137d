"""(history, chunk, caption) training samples cut from encoded clips, laid out as at inference.

A clip becomes an episode of chunks that opens as a world does (the first latent repeated);
a sample for chunk k takes the first k chunks as history. Batches alternate text starts and
image starts, as in the paper. The layout and both kinds of batch: docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from yume_gym.actions import SpeedSuffix, caption_for_action
from yume_gym.events import scene_text as caption_scene_text
from yume_gym.train.latents import LatentClips

NOOP_ACTION = 0


@dataclass
class ChunkBatch:
    """``chunk`` (B, C, F, h, w) clean latents, ``history`` (B, C, k*F, h, w) or None, captions."""

    chunk: torch.Tensor
    history: torch.Tensor | None
    captions: list[tuple[str, str | None]]


def episode_latents(latents: torch.Tensor, chunk_latents: int) -> torch.Tensor:
    """(T, C, h, w) clip latents -> (F + T - 1, C, h, w): z_0 repeated F times, then z_1 .. z_{T-1}."""
    return torch.cat([latents[:1].expand(chunk_latents, -1, -1, -1), latents[1:]])


def num_chunks(clips: LatentClips, chunk_latents: int) -> int:
    """Chunks per episode after the opening one."""
    return (clips.latents.shape[1] - 1) // chunk_latents


def scene_text(record: dict, frame: int, with_prompt: bool) -> str | None:
    """The caption's second part at ``frame``: the scene caption (if wanted), then the event once started."""
    event_on = record["event"] is not None and 0 <= record["event_start"] <= frame
    return caption_scene_text(record["scene"] if with_prompt else None, record["event"] if event_on else None)


def sample_batch(clips: LatentClips, rng: np.random.Generator, batch: int, chunk_latents: int,
                 text_start_share: float, prompt_share: float, opening_share: float = 0.0) -> ChunkBatch:
    """One training batch (see the module doc); every row has the same history length.

    ``opening_share`` of the image-start batches take chunk 1 (the first chunk after the start
    image, which every image-started episode generates first); the rest take a uniform chunk.
    """
    rows = rng.integers(len(clips), size=batch)
    speed = SpeedSuffix(*clips.settings["speed"])
    f = chunk_latents
    text_start = rng.random() < text_start_share
    if text_start:
        k = 0
    elif opening_share > 0.0 and rng.random() < opening_share:  # no draw at 0: the default stream is unchanged
        k = 1
    else:
        k = int(rng.integers(1, num_chunks(clips, f) + 1))
    chunks, histories, captions = [], [], []
    for n in rows:
        episode = episode_latents(clips.latents[n], f)  # (F + T - 1, C, h, w)
        chunks.append(episode[k * f : (k + 1) * f])
        histories.append(episode[: k * f])
        if text_start:
            captions.append((caption_for_action(NOOP_ACTION, speed), scene_text(clips.records[n], 0, True)))
        else:
            captions.append(chunk_caption(clips, n, k, f, rng.random() < prompt_share))
    chunk = torch.stack(chunks).permute(0, 2, 1, 3, 4).float()  # (B, C, F, h, w)
    history = torch.stack(histories).permute(0, 2, 1, 3, 4).float() if k else None  # (B, C, kF, h, w)
    return ChunkBatch(chunk, history, captions)


def chunk_caption(clips: LatentClips, n: int, k: int, chunk_latents: int,
                  with_prompt: bool) -> tuple[str, str | None]:
    """The caption of chunk ``k`` >= 1 of clip ``n``'s episode."""
    frame = chunk_latents * (k - 1) + 1
    speed = SpeedSuffix(*clips.settings["speed"])
    action = caption_for_action(int(clips.actions[n, frame]), speed)
    return action, scene_text(clips.records[n], frame, with_prompt)

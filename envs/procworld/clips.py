"""Procworld clips in memory, read from the shards of ``yume-gym data procworld``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from procworld.dataset import read_shard


@dataclass
class ClipSet:
    """``frames`` (N, T, S, S, 3) uint8, ``actions`` (N, T) int64, ``records`` (one dict per clip:
    scene caption, event text and start, action segments) and the dataset settings."""

    frames: np.ndarray
    actions: np.ndarray
    records: list[dict[str, Any]]
    settings: dict[str, Any]

    def __len__(self) -> int:
        return len(self.frames)


MAKE_DATASET = ("write one with `yume-gym data procworld --clips 4000 --frames 65 --align 4 --out data/procworld` "
                "or pass --data DIR")


def dataset_settings(directory: str | os.PathLike) -> dict[str, Any]:
    """The ``dataset.json`` of a dataset directory, with a clear error when it is missing."""
    path = Path(directory) / "dataset.json"
    if not path.is_file():
        raise FileNotFoundError(f"no procworld dataset at {str(directory)!r} (no dataset.json); {MAKE_DATASET}")
    return json.loads(path.read_text())


def shard_paths(directory: str | os.PathLike) -> list[Path]:
    """The dataset's shard files, in order."""
    paths = sorted(Path(directory).glob("shard-*.safetensors"))
    if not paths:
        raise FileNotFoundError(f"{str(directory)!r} has a dataset.json but no shard-*.safetensors files")
    return paths


def load_clips(directory: str | os.PathLike, max_clips: int | None = None) -> ClipSet:
    """The first ``max_clips`` clips (all for None) of the dataset in ``directory``."""
    settings = dataset_settings(directory)
    frames, actions, records = [], [], []
    for path in shard_paths(directory):
        arrays, shard_records = read_shard(path)
        frames.append(arrays["frames"])
        actions.append(arrays["actions"].astype(np.int64))
        records += shard_records
        if max_clips is not None and len(records) >= max_clips:
            break
    n = len(records) if max_clips is None else min(max_clips, len(records))
    return ClipSet(np.concatenate(frames)[:n], np.concatenate(actions)[:n], records[:n], settings)


def split_held_out(clips: ClipSet) -> tuple[np.ndarray, np.ndarray]:
    """(training frames, held-out frames), each (N, H, W, 3): the last 5% of clips are held out."""
    held = max(1, len(clips) // 20)
    frames = clips.frames
    return frames[:-held].reshape(-1, *frames.shape[2:]), frames[-held:].reshape(-1, *frames.shape[2:])

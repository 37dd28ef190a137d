"""Procworld clips encoded once by the codec: the foundation model trains on these latents.

``encode_dataset`` runs every clip of a dataset directory through the codec and writes one
safetensors file: ``latents`` (N, T, C, h, w) float16, ``actions`` (N, T) int16, and in its
metadata the per-clip records (scene caption, event, event start) and the dataset settings.
The file is written atomically and is reused while the codec and dataset are unchanged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from procworld.dataset import read_shard
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from tqdm import tqdm

from yume_gym.atomic_file import atomic_path
from yume_gym.model.codec import LatentCodec
from procworld.clips import dataset_settings, shard_paths

LATENTS_FORMAT = "yume_gym.procworld_latents"


@dataclass
class LatentClips:
    """``latents`` (N, T, C, h, w) float16, ``actions`` (N, T) int64, ``records`` and ``settings``."""

    latents: torch.Tensor
    actions: np.ndarray
    records: list[dict[str, Any]]
    settings: dict[str, Any]

    def __len__(self) -> int:
        return self.latents.shape[0]


@torch.no_grad()
def encode_dataset(data: str | os.PathLike, codec: LatentCodec, out: str | os.PathLike,
                   max_clips: int | None = None, progress: bool = True) -> Path:
    """Encode the clips of ``data`` with ``codec`` into the file ``out`` (see the module doc)."""
    settings = dataset_settings(data)
    device = next(codec.parameters()).device
    latents, actions, records = [], [], []
    paths = shard_paths(data)
    for path in tqdm(paths, desc="encoding clips", unit="shard", disable=not progress):
        arrays, shard_records = read_shard(path)
        for frames in arrays["frames"]:  # (T, H, W, 3) uint8
            video = torch.from_numpy(frames).to(device).permute(3, 0, 1, 2)[None].float() / 127.5 - 1.0
            latents.append(codec.encode(video)[0].transpose(0, 1).half().cpu())  # (T, C, h, w)
        actions.append(arrays["actions"])
        records += shard_records
        if max_clips is not None and len(records) >= max_clips:
            break
    n = len(records) if max_clips is None else min(len(records), max_clips)
    tensors = {
        "latents": torch.stack(latents[:n]).contiguous(),
        "actions": torch.from_numpy(np.concatenate(actions)[:n].astype(np.int16)),
    }
    metadata = {"format": LATENTS_FORMAT, "records": json.dumps(records[:n]), "settings": json.dumps(settings)}
    with atomic_path(out) as tmp:
        save_file(tensors, tmp, metadata=metadata)
    return Path(out)


def load_latents(path: str | os.PathLike) -> LatentClips:
    """Read a file written by :func:`encode_dataset`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no encoded clips at {str(path)!r}; they are written by encode_dataset")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            if metadata.get("format") != LATENTS_FORMAT:
                raise ValueError(f"{str(path)!r} is not a {LATENTS_FORMAT} file; delete it to encode again")
            latents, actions = f.get_tensor("latents"), f.get_tensor("actions")
        return LatentClips(latents, actions.numpy().astype(np.int64), json.loads(metadata["records"]),
                           json.loads(metadata["settings"]))
    except (SafetensorError, json.JSONDecodeError, KeyError) as err:
        raise ValueError(f"encoded clips {str(path)!r} are damaged or truncated ({type(err).__name__}: {err}); "
                         "delete the file to encode the dataset again") from err

"""Recorded episodes as a Minari dataset, the Farama standard for offline RL.

:func:`export_minari` reads the MP4 + JSON sidecar pairs that :class:`~yume_gym.env.recorder.ChunkRecorder`
writes and stores each as one Minari episode: observations are the last frame of every chunk (the
reset chunk, then one per step, as the env's observation), actions the action ids, with rewards,
terminations, truncations and infos (step, event, caption; no frames). Frames are read back from
the H.264 video, so they carry its compression; record with ``overlay=False`` for clean frames.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
from gymnasium import spaces

from yume_gym.actions import NUM_ACTIONS

INSTALL_HINT = 'pip install "yume-gym[offline]"'


def recorded_videos(recordings: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """The MP4s of a recording folder (sorted), or the given MP4 paths; each must have its sidecar."""
    if isinstance(recordings, (str, os.PathLike)) and Path(recordings).is_dir():
        videos = sorted(Path(recordings).glob("*.mp4"))
    elif isinstance(recordings, (str, os.PathLike)):
        videos = [Path(recordings)]
    else:
        videos = [Path(path) for path in recordings]
    if not videos:
        raise FileNotFoundError(f"no recorded episodes (*.mp4) in {str(recordings)!r}; record some with ChunkRecorder")
    for video in videos:
        if not video.is_file() or not video.with_suffix(".json").is_file():
            raise FileNotFoundError(f"{str(video)!r} is not a recorded episode (an MP4 with its JSON sidecar beside it)")
    return videos


def read_episode(video: Path) -> dict[str, Any]:
    """One recorded episode as Minari's episode fields: N + 1 observations and infos, N of the rest."""
    sidecar = json.loads(video.with_suffix(".json").read_text())
    frames = _read_frames(video, sidecar["width"], sidecar["height"])  # (F, H, W, 3)
    steps = list(sidecar["steps"])
    if any(step["action_id"] is None for step in steps):
        raise ValueError(f"{str(video)!r} has steps without an action id; only yume-gym action spaces export")
    if sidecar["reset"] is not None:
        first_obs, first_info = frames[sidecar["reset"]["frames"] - 1], sidecar["reset"]
        first_info = {"step": 0, "event": first_info["event"], "caption": first_info["caption"]}
    else:  # recording began mid-episode: its first chunk opens the episode
        if not steps:
            raise ValueError(f"{str(video)!r} holds no complete step")
        opening = steps.pop(0)
        first_obs = frames[opening["first_frame"] + opening["frames"] - 1]
        first_info = {key: opening[key] for key in ("step", "event", "caption")}
    observations = [first_obs] + [frames[step["first_frame"] + step["frames"] - 1] for step in steps]
    infos = [first_info] + [{key: step[key] for key in ("step", "event", "caption")} for step in steps]
    return {
        "observations": np.stack(observations),  # (N + 1, H, W, 3)
        "actions": np.array([step["action_id"] for step in steps], dtype=np.int64),
        "rewards": np.array([step["reward"] for step in steps], dtype=np.float64),
        "terminations": np.array([step["terminated"] for step in steps], dtype=bool),
        "truncations": np.array([step["truncated"] for step in steps], dtype=bool),
        "infos": {"step": [int(info["step"]) for info in infos],  # lists: Minari stores 1-D arrays by shape
                  "event": [info["event"] or "" for info in infos],
                  "caption": [info["caption"] or "" for info in infos]},  # fmt: skip
    }


def export_minari(recordings: str | os.PathLike | Sequence[str | os.PathLike], dataset_id: str, **metadata: Any):
    """Write the recorded episodes as the local Minari dataset ``dataset_id`` (e.g.
    ``"yume_gym/walks-v0"``, under ``MINARI_DATASETS_PATH``); returns the ``MinariDataset``.

    ``metadata`` goes to ``minari.create_dataset_from_buffers`` (``description``, ``author``,
    ``author_email``, ``code_permalink``, ``env``...)."""
    try:
        import minari
        from minari.data_collector import EpisodeBuffer
    except ImportError as err:
        raise ImportError(f"exporting to Minari needs minari: {INSTALL_HINT}") from err
    episodes = [read_episode(video) for video in recorded_videos(recordings)]
    shapes = {episode["observations"].shape[1:] for episode in episodes}
    if len(shapes) != 1:
        raise ValueError(f"the episodes have different frame sizes {sorted(shapes)}; export each size separately")
    buffers = [EpisodeBuffer(id=i, **episode) for i, episode in enumerate(episodes)]
    return minari.create_dataset_from_buffers(
        dataset_id, buffers,
        observation_space=spaces.Box(0, 255, shapes.pop(), np.uint8), action_space=spaces.Discrete(NUM_ACTIONS),
        **{"algorithm_name": "recorded with yume_gym.env.recorder.ChunkRecorder", **metadata},
        data_format="arrow",  # Minari's Arrow storage (pyarrow): text infos as they are
        jpeg_encoding=False,  # the frames were decoded from H.264 already: store them as they are
    )  # fmt: skip


def _read_frames(video: Path, width: int, height: int) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(video))
    size = next(reader)["size"]  # the metadata; the encoder may have padded odd sizes by one
    frames = np.stack([np.frombuffer(raw, np.uint8).reshape(size[1], size[0], 3) for raw in reader])
    return frames[:, :height, :width]  # (F, H, W, 3)

"""The frames a reset or a step produced, as one ``(T, H, W, 3)`` uint8 array.

Every yume-gym env puts the whole generated chunk in ``info["frames"]``. Wrappers that look at
frames (rewards, the recorder) read them with :func:`step_frames`, which falls back to the
observation for envs that only return images: a ``(H, W, 3)`` frame becomes a chunk of one,
a ``(T, H, W, 3)`` chunk observation is used as it is. :func:`chunk_metadata` sets the frame
rates: ``render_fps`` is steps per second (one ``render()`` call covers a chunk, so Gymnasium's
``RecordVideo`` and ``HumanRendering`` play at real speed), ``video_fps`` the chunk's own rate.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def chunk_metadata(metadata: dict[str, Any], fps: float, frames_per_step: int) -> dict[str, Any]:
    """``metadata`` with ``video_fps`` = ``fps`` (frames) and ``render_fps`` = steps per second."""
    return {**metadata, "render_fps": fps / frames_per_step, "video_fps": fps}


def video_fps(metadata: dict[str, Any]) -> float | None:
    """The frame rate of the frames in ``info["frames"]``: ``video_fps``, else ``render_fps``."""
    return metadata.get("video_fps", metadata.get("render_fps"))


def check_frames(frames: Any, name: str = "frames") -> np.ndarray:
    """Check that ``frames`` is a ``(T, H, W, 3)`` uint8 array with T >= 1 and return it."""
    if not isinstance(frames, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape (T, H, W, 3), got {type(frames).__name__}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or 0 in frames.shape:
        raise ValueError(f"{name} has shape {frames.shape}; expected (T, H, W, 3) RGB frames with T >= 1")
    if frames.dtype != np.uint8:
        raise ValueError(f"{name} has dtype {frames.dtype}; expected uint8 in 0..255")
    return frames


def step_frames(observation: Any, info: dict[str, Any]) -> np.ndarray:
    """``info["frames"]`` if present, else the observation as a chunk: ``(T, H, W, 3)`` uint8."""
    if "frames" in info:
        return check_frames(info["frames"], 'info["frames"]')
    obs = np.asarray(observation)
    if obs.ndim == 3:
        obs = obs[None]  # (1, H, W, 3)
    try:
        return check_frames(obs, "the observation")
    except (TypeError, ValueError) as err:
        raise ValueError(
            f'the env gives no info["frames"] and its observation is not an image: {err}'
        ) from err

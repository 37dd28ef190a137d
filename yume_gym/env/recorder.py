"""Record every generated frame of every episode to MP4, with a JSON sidecar.

A step of a yume-gym env generates a whole chunk of frames, so Gymnasium's ``RecordVideo``
(one frame per step) would drop most of the video. :class:`ChunkRecorder` records them all,
one video per episode, always on disk as a complete, playable MP4. File names, the sidecar,
crash safety and cost: docs/architecture.md.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from moviepy.config import FFMPEG_BINARY
from moviepy.video.io.ffmpeg_writer import FFMPEG_VideoWriter
from PIL import Image, ImageDraw, ImageFont

from yume_gym.actions import NUM_ACTIONS, describe_action
from yume_gym.atomic_file import atomic_path, write_text_atomic
from yume_gym.env.frames import step_frames, video_fps


def episode_video_path(path_or_dir: str | os.PathLike, episode: int) -> Path:
    """The video path of ``episode`` under the naming rule in the module docstring."""
    path = Path(path_or_dir)
    if path.suffix.lower() != ".mp4":
        return path / f"episode-{episode:04d}.mp4"
    return path if episode == 0 else path.with_name(f"{path.stem}-{episode:04d}.mp4")


def draw_overlay(frame: np.ndarray, keys: str | None, event: str | None) -> np.ndarray:
    """A copy of ``frame`` (H, W, 3) uint8 with ``keys`` top-left and ``event`` bottom-left."""
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    height, width = frame.shape[:2]
    font = _font(max(8, height // 16))
    margin = max(1, height // 64)
    style = {"font": font, "fill": (255, 255, 255), "stroke_width": 1, "stroke_fill": (0, 0, 0)}
    if keys:
        draw.text((margin, margin), keys, anchor="la", **style)
    if event:
        draw.text((margin, height - margin), _fit(draw, event, font, width - 2 * margin), anchor="ld", **style)
    return np.asarray(image)


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at ``size`` pixels: the font matplotlib ships, which has the arrow glyphs."""
    import matplotlib  # a yume-gym dependency; imported here only for its font file

    return ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf"), size)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _even(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) padded by edge replication to even H and W."""
    _, h, w, _ = frames.shape
    if h % 2 == 0 and w % 2 == 0:
        return frames
    return np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class _EpisodeVideo:
    """One episode's video: chunks encoded to segments, published by stream-copy concat."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.fps = fps
        self.segments_dir = path.with_name(f".{path.stem}.segments")
        shutil.rmtree(self.segments_dir, ignore_errors=True)
        self.segments_dir.mkdir(parents=True)
        self.segments: list[Path] = []
        self.size: tuple[int, int] | None = None  # (H, W) of the video
        self.frame_count = 0
        self.published_segments = 0

    def add(self, frames: np.ndarray) -> None:
        """Encode ``frames`` (T, H, W, 3) uint8 as the next segment."""
        frames = _even(frames)
        size = frames.shape[1:3]
        if self.size is not None and size != self.size:
            raise ValueError(f"frame size changed within an episode: {size} after {self.size}; a video needs one size")
        self.size = size
        segment = self.segments_dir / f"{len(self.segments):06d}.mp4"
        writer = FFMPEG_VideoWriter(
            str(segment), (size[1], size[0]), self.fps, preset="veryfast",
            ffmpeg_params=["-crf", "18"], logfile=subprocess.PIPE,
        )  # fmt: skip
        try:
            for frame in frames:
                writer.write_frame(np.ascontiguousarray(frame))
        finally:
            writer.close()
        self.segments.append(segment)
        self.frame_count += len(frames)

    def publish(self) -> None:
        """Join all segments into the video, atomically (nothing to do when none is new)."""
        if not self.segments or self.published_segments == len(self.segments):
            return
        listing = self.segments_dir / "segments.txt"
        listing.write_text("".join(f"file '{s.name}'\n" for s in self.segments), encoding="utf-8")
        with atomic_path(self.path) as tmp:
            cmd = [FFMPEG_BINARY, "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
                   "-c", "copy", "-f", "mp4", tmp]  # fmt: skip
            result = subprocess.run(cmd, check=False, capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"ffmpeg could not join the segments of {str(self.path)!r}: {result.stderr.strip()}")
        self.published_segments = len(self.segments)

    def discard_segments(self) -> None:
        """Delete the segment folder (after the final publish)."""
        shutil.rmtree(self.segments_dir, ignore_errors=True)


class ChunkRecorder(gym.Wrapper):
    """Record all generated frames of each episode to an MP4 and a JSON sidecar.

    Arguments:
    - ``path_or_dir``: a directory (one ``episode-NNNN.mp4`` per episode) or a ``.mp4`` path
      (see the module docstring for the naming rule and the crash-safety design).
    - ``overlay``: draw the held keys (e.g. "W+A ←") and the event text on the frames.
    - ``fps``: the video's frame rate; defaults to the chunk's rate, ``env.metadata["video_fps"]``
      (else ``render_fps``).
    - ``publish_every``: publish the video every this many steps (1: after every chunk).
    - ``max_frames``: frames to record in all (None: no limit); the chunk that would pass it
      ends the open video (status "frame limit") and turns recording off.

    :attr:`video_paths` lists the videos written so far. ``close()`` finalises the open episode.
    """

    def __init__(
        self,
        env: gym.Env,
        path_or_dir: str | os.PathLike,
        overlay: bool = True,
        fps: float | None = None,
        publish_every: int = 1,
        max_frames: int | None = None,
    ) -> None:
        super().__init__(env)
        fps = video_fps(env.metadata) if fps is None else fps
        if fps is None:
            raise ValueError("the env's metadata has no 'render_fps'; pass fps= to ChunkRecorder")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
            raise ValueError(f"fps {fps!r} must be a positive number")
        if isinstance(publish_every, bool) or not isinstance(publish_every, int) or publish_every < 1:
            raise ValueError(f"publish_every {publish_every!r} must be a positive integer (steps)")
        if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, int)
                                       or max_frames < 1):
            raise ValueError(f"max_frames {max_frames!r} must be a positive integer, or None for no limit")
        self.max_frames = max_frames
        self.frames_recorded = 0
        self.root = Path(path_or_dir)
        self.overlay = bool(overlay)
        self.fps = float(fps)
        self.publish_every = publish_every
        self.video_paths: list[Path] = []
        self._episode_index = 0
        self._video: _EpisodeVideo | None = None
        self._record: dict[str, Any] = {}
        self._recording = True
        self._start_at_next_step = False

    # ------------------------------------------------------------------------ gym interface
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Finalise the previous episode if it is still open, reset, and record the reset frames."""
        self._finish("stopped")
        self._start_at_next_step = False
        obs, info = self.env.reset(seed=seed, options=options)
        if not self._recording:
            return obs, info
        frames = step_frames(obs, info)
        if self._stop_at_limit(len(frames)):
            return obs, info
        self._open({"frames": len(frames), "caption": info.get("caption"), "event": info.get("event")})
        self._add(frames, None, info.get("event"))
        self._publish()
        return obs, info

    def step(self, action: Any):
        """Step the env and record its chunk; an exception publishes what was recorded, then propagates."""
        if self._video is None and not self._start_at_next_step:
            return self.env.step(action)
        try:
            obs, reward, terminated, truncated, info = self.env.step(action)
        except BaseException as err:
            if self._video is not None:
                self._record["error"] = f"{type(err).__name__}: {err}"
                self._publish()
            raise
        frames = step_frames(obs, info)
        if self._stop_at_limit(len(frames)):
            return obs, reward, terminated, truncated, info
        if self._video is None:
            self._start_at_next_step = False
            self._open(None)
        action_id = _action_id(action, info)
        keys = describe_action(action_id) if action_id is not None else str(action)
        self._record["steps"].append({
            "step": int(info.get("step", len(self._record["steps"]) + 1)),
            "action_id": action_id, "keys": keys, "event": info.get("event"), "caption": info.get("caption"),
            "reward": float(reward), "terminated": bool(terminated), "truncated": bool(truncated),
            "first_frame": self._video.frame_count, "frames": len(frames),
        })  # fmt: skip
        self._add(frames, keys, info.get("event"))
        if terminated or truncated:
            self._finish("terminated" if terminated else "truncated")
        elif len(self._record["steps"]) % self.publish_every == 0:
            self._publish()
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        """Finalise the open episode's video, then close the env."""
        self._finish("stopped")
        super().close()

    @property
    def recording(self) -> bool:
        """Whether steps and resets are recorded (True unless :meth:`set_recording` turned it off)."""
        return self._recording

    def set_recording(self, on: bool) -> None:
        """Turn recording off, or back on, at any point of an episode.

        Off finalises the open video (status "stopped"); later steps and resets pass through
        unrecorded. On records again from the next reset or step: a step starts the next video
        file, whose sidecar has ``"reset": None`` since it begins mid-episode.
        """
        on = bool(on)
        if on == self._recording:
            return
        self._recording = on
        self._start_at_next_step = on
        if not on:
            self._finish("stopped")

    # ------------------------------------------------------------------------------ writing
    def _open(self, reset: dict[str, Any] | None) -> None:
        """Start the next video file; ``reset`` describes its reset chunk, None mid-episode."""
        path = episode_video_path(self.root, self._episode_index)
        self._episode_index += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        self._video = _EpisodeVideo(path, self.fps)
        self._record = {"video": path.name, "fps": self.fps, "status": "recording", "reset": reset, "steps": []}
        self.video_paths.append(path)

    def _stop_at_limit(self, frames: int) -> bool:
        """End recording (status "frame limit") when ``frames`` more would pass ``max_frames``."""
        if self.max_frames is None or self.frames_recorded + frames <= self.max_frames:
            return False
        self._recording = self._start_at_next_step = False
        self._finish("frame limit")
        return True

    def _add(self, frames: np.ndarray, keys: str | None, event: str | None) -> None:
        self.frames_recorded += len(frames)
        if self.overlay:
            frames = np.stack([draw_overlay(f, keys, event) for f in frames])  # (T, H, W, 3)
        self._video.add(frames)

    def _publish(self) -> None:
        """Publish the video (if it has new chunks) and rewrite the sidecar to match it."""
        video = self._video
        if video is None or not video.segments:
            return
        video.publish()
        height, width = video.size
        sidecar = {**self._record, "frame_count": video.frame_count, "height": height, "width": width}
        write_text_atomic(video.path.with_suffix(".json"), json.dumps(sidecar, indent=1, ensure_ascii=False))

    def _finish(self, status: str) -> None:
        """Publish the open episode with its final ``status`` and drop its segments."""
        video = self._video
        if video is None:
            return
        self._record["status"] = status
        try:
            self._publish()
        finally:  # a failed publish (a full disk) still leaves no segment folder behind
            video.discard_segments()
            self._video = None


def _action_id(action: Any, info: dict[str, Any]) -> int | None:
    """The Discrete(81) id from ``info["action_id"]``, else from an integer action, else None."""
    value = info.get("action_id", action)
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)) and 0 <= value < NUM_ACTIONS:
        return int(value)
    return None

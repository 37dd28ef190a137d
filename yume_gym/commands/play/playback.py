"""Play generated chunks frame by frame at the model's fps, one chunk queued behind the one on screen.

A front end asks :meth:`ChunkPlayback.advance` which frame to show now. Frames follow each other
every ``1 / fps`` seconds; when a chunk's last frame has had its time, the queued chunk starts
right on cadence. When none is queued yet (generation is slower than playback), the last frame
stays on screen and the next chunk starts as soon as it arrives: the picture stalls, it never
skips frames. :meth:`wants_next` tells the generator when to start on the next chunk: as soon as
nothing is queued, that is while the current chunk plays.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

FPS_WINDOW_S = 1.0  # frames shown over the last second give the displayed fps


@dataclass(frozen=True)
class Chunk:
    """One generated chunk, ready to show.

    ``frames`` is ``(T, H, W, 3)`` uint8 at display size. ``action_id`` is the ``Discrete(81)``
    action that produced it, None for the opening chunk of a reset; ``event`` the event text
    active in its caption; ``step`` the env's step number; ``generate_s`` the seconds the env
    took to make it.
    """

    frames: np.ndarray
    action_id: int | None
    event: str | None
    step: int
    generate_s: float


class ChunkPlayback:
    """The frame on screen at any time, given the chunks pushed so far (not thread-safe)."""

    def __init__(self, fps: float) -> None:
        if not fps > 0:
            raise ValueError(f"fps {fps!r} must be a positive number")
        self.period = 1.0 / float(fps)
        self._queued: deque[Chunk] = deque()
        self.chunk: Chunk | None = None  # the chunk on screen
        self.frame_index = 0
        self._chunk_start = 0.0  # when frame 0 of the chunk on screen was (or would have been) shown
        self._paused_at: float | None = None
        self._cut = False  # True after clear(): the chunk on screen is not played on
        self._shown_at: deque[float] = deque()

    @property
    def frame(self) -> np.ndarray | None:
        """The frame on screen, ``(H, W, 3)`` uint8; None before the first chunk."""
        return None if self.chunk is None else self.chunk.frames[self.frame_index]

    def push(self, chunk: Chunk) -> None:
        """Queue ``chunk`` to play after the chunks already queued."""
        self._queued.append(chunk)

    def wants_next(self) -> bool:
        """True when no chunk is queued: the next one should be generated now."""
        return not self._queued

    def clear(self) -> None:
        """Drop the queued chunks (a reset); the frame on screen stays until the next chunk."""
        self._queued.clear()
        self._cut = True  # the next chunk starts as soon as it arrives

    def pause(self, now: float) -> None:
        """Freeze the picture until :meth:`resume`."""
        if self._paused_at is None:
            self._paused_at = now

    def resume(self, now: float) -> None:
        """Go on from the frame where :meth:`pause` froze the picture."""
        if self._paused_at is not None:
            self._chunk_start += now - self._paused_at
            self._paused_at = None

    def advance(self, now: float) -> bool:
        """Move to the frame due at time ``now`` (seconds); True when the frame on screen changed."""
        if self._paused_at is not None:
            return False
        if self._queued and (self.chunk is None or self._cut or self._chunk_over(now)):
            self._start_next(now)
        if self.chunk is None or self._cut:
            return False
        index = min(int((now - self._chunk_start) / self.period), len(self.chunk.frames) - 1)
        if index == self.frame_index:
            return False
        self.frame_index = index
        self._shown_at.append(now)
        return True

    def shown_fps(self, now: float) -> float:
        """Frames shown per second over the last :data:`FPS_WINDOW_S` seconds."""
        while self._shown_at and self._shown_at[0] <= now - FPS_WINDOW_S:
            self._shown_at.popleft()
        return len(self._shown_at) / FPS_WINDOW_S

    def _chunk_over(self, now: float) -> bool:
        return now - self._chunk_start >= len(self.chunk.frames) * self.period

    def _start_next(self, now: float) -> None:
        """Put the next queued chunk on screen: on cadence if it was ready in time, else now."""
        on_cadence = now
        if self.chunk is not None and not self._cut:
            on_cadence = self._chunk_start + len(self.chunk.frames) * self.period
        self.chunk = self._queued.popleft()
        self._chunk_start = on_cadence if now - on_cadence < self.period else now
        self.frame_index = -1  # nothing of this chunk shown yet
        self._cut = False

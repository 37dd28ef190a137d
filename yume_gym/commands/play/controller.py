"""The one loop behind ``yume-gym play`` and ``yume-gym serve``: keys in, chunks out, live.

A :class:`PlayController` owns the env and a background thread that steps it; front ends only
report input (held keys, an event text, reset, pause, recording) and ask which frame to show.
Every method is safe to call from any thread. Scheduling, threading and failures:
docs/architecture.md.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from yume_gym.actions import describe_action
from yume_gym.events import validate_event_text
from yume_gym.commands.play.held_keys import HeldKeys
from yume_gym.commands.play.playback import Chunk, ChunkPlayback
from yume_gym.env.frames import video_fps
from yume_gym.env.recorder import ChunkRecorder

_RESET = "reset"
_EVENT = "event"
_RECORD = "record"
_NO_REQUEST = object()  # no event change is on its way to the screen


@dataclass(frozen=True)
class PlayStatus:
    """What a HUD shows: held keys, the event on screen and the next one, timing, switches."""

    keys: str  # the held keys as an action label, e.g. "W+A ←" or "none"
    event: str | None  # the event of the chunk on screen
    next_event: str | None  # the event asked for and not on screen yet; else the same as ``event``
    step: int | None  # the env step of the chunk on screen
    generate_s: float | None  # seconds the last chunk took to generate
    fps: float  # frames shown per second over the last second
    model_fps: float
    paused: bool
    recording: bool
    error: str | None

    def lines(self) -> list[str]:
        """The status as short HUD lines."""
        generate = "-" if self.generate_s is None else f"{self.generate_s * 1000:.0f} ms"
        switches = " ".join(flag for flag, on in (("PAUSED", self.paused), ("REC", self.recording)) if on)
        lines = [
            f"keys: {self.keys}",
            f"event: {self.event or '-'}",
            f"generate: {generate}/chunk  fps: {self.fps:.0f}/{self.model_fps:g}  step: {self.step or 0}",
        ]
        if self.next_event != self.event:
            lines.insert(2, f"next event: {self.next_event or '(cleared)'}")
        if switches:
            lines.append(switches)
        if self.error:
            lines.append(f"error: {self.error}")
        return lines


class PlayController:
    """Steps ``env`` in the background while the frames of the previous chunk play.

    Arguments:
    - ``env``: a yume-gym env (``info["frames"]`` holds each chunk; its unwrapped env has
      ``set_event``), optionally wrapped; the frames are shown as they come.
    - ``seed``, ``options``: every reset uses them (``R`` restarts the same world).
    - ``recorder``: the :class:`~yume_gym.env.recorder.ChunkRecorder` inside ``env``, if any, that
      :meth:`toggle_recording` switches (the session builds it switched off).
    - ``fps``: playback rate (default: the chunk's rate, ``env.metadata["video_fps"]``).

    Call :meth:`start` to begin (the first chunk is the reset) and :meth:`close` to stop.
    """

    def __init__(self, env: gym.Env, seed: int | None = None, options: dict[str, Any] | None = None,
                 recorder: ChunkRecorder | None = None, fps: float | None = None) -> None:
        fps = video_fps(env.metadata) if fps is None else fps
        if fps is None:
            raise ValueError("the env's metadata has no 'render_fps'; pass fps= to PlayController")
        self.env = env
        self.seed = seed
        self.options = dict(options or {})
        self.recorder = recorder
        self.model_fps = float(fps)
        self._keys = HeldKeys()
        self._playback = ChunkPlayback(fps)
        self._commands: deque[tuple[str, Any]] = deque([(_RESET, None)])
        self._cond = threading.Condition()
        self._paused = False
        self._closed = False
        self._recording = recorder.recording if recorder is not None else False
        self._requested_event: Any = _NO_REQUEST
        self._last_generate_s: float | None = None
        self._error: str | None = None
        self._thread = threading.Thread(target=self._generate_loop, name="yume-gym-generate", daemon=True)

    # ------------------------------------------------------------------------------ life
    def start(self) -> PlayController:
        """Start the generation thread (the first chunk is the reset); returns self."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread after its current chunk, then close the env (finalising a recording)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        self.env.close()

    # ----------------------------------------------------------------------------- input
    def press(self, key: str) -> None:
        """Hold a play key (W, A, S, D, LEFT, RIGHT, UP, DOWN); a ValueError for any other name."""
        with self._cond:
            self._keys.press(key)

    def release(self, key: str) -> None:
        """Let go of a play key (one not held is fine)."""
        with self._cond:
            self._keys.release(key)

    def set_held(self, keys: Iterable[str]) -> None:
        """Make exactly ``keys`` the held keys (all names are checked before any changes)."""
        with self._cond:
            self._keys.set_held(keys)

    def release_all(self) -> None:
        """Let go of every key (a page that left, a text box that took the keyboard)."""
        with self._cond:
            self._keys.release_all()

    def held_keys(self) -> frozenset[str]:
        """The play keys held now."""
        with self._cond:
            return frozenset(self._keys.held)

    def set_event(self, text: str | None) -> None:
        """Make ``text`` the event from the next generated chunk on; None clears it.

        The text is checked at once (a ValueError names what is wrong): a non-blank string of at
        most :data:`yume_gym.events.MAX_EVENT_CHARS` characters.
        """
        validate_event_text(text)
        with self._cond:
            self._commands.append((_EVENT, text))
            self._requested_event = text
            self._cond.notify_all()

    def request_reset(self) -> None:
        """Restart the world from its start (same options and seed) as soon as the thread is free.

        Resumes a paused controller, so that the new start shows.
        """
        with self._cond:
            self._commands.append((_RESET, None))
            self._requested_event = _NO_REQUEST
            self._playback.clear()
            self._set_paused(False)
            self._cond.notify_all()

    def toggle_pause(self) -> bool:
        """Pause or resume playback and generation; returns True when now paused."""
        with self._cond:
            self._set_paused(not self._paused)
            return self._paused

    def toggle_recording(self) -> bool:
        """Switch recording on or off (from the next chunk); returns True when now on."""
        if self.recorder is None:
            raise RuntimeError("this controller has no recorder; build it with recorder=ChunkRecorder(...)")
        with self._cond:
            self._recording = not self._recording
            self._commands.append((_RECORD, self._recording))
            self._cond.notify_all()
            return self._recording

    def _set_paused(self, paused: bool) -> None:
        """Pause or resume (the caller holds the lock)."""
        if paused == self._paused:
            return
        self._paused = paused
        if paused:
            self._playback.pause(time.monotonic())
        else:
            self._playback.resume(time.monotonic())
        self._cond.notify_all()

    # ---------------------------------------------------------------------------- output
    def advance(self, now: float | None = None) -> bool:
        """Move playback to time ``now`` (default: ``time.monotonic()``); True if the frame changed."""
        now = time.monotonic() if now is None else now
        with self._cond:
            changed = self._playback.advance(now)
            chunk = self._playback.chunk
            if chunk is not None and chunk.event == self._requested_event:
                self._requested_event = _NO_REQUEST  # the event asked for is on screen
            if self._playback.wants_next():
                self._cond.notify_all()
            return changed

    def frame(self) -> np.ndarray | None:
        """The frame on screen, ``(H, W, 3)`` uint8, or None before the first chunk."""
        with self._cond:
            return self._playback.frame

    def status(self, now: float | None = None) -> PlayStatus:
        """What the HUD shows at time ``now`` (default: ``time.monotonic()``)."""
        now = time.monotonic() if now is None else now
        with self._cond:
            chunk = self._playback.chunk
            event = None if chunk is None else chunk.event
            return PlayStatus(
                keys=describe_action(self._keys.held_action()),
                event=event,
                next_event=event if self._requested_event is _NO_REQUEST else self._requested_event,
                step=None if chunk is None else chunk.step,
                generate_s=self._last_generate_s,
                fps=self._playback.shown_fps(now),
                model_fps=self.model_fps,
                paused=self._paused,
                recording=self._recording,
                error=self._error,
            )

    # ------------------------------------------------------------------- generation thread
    def _generate_loop(self) -> None:
        try:
            while self._generate_next():
                pass
        except Exception as err:  # reported on the HUD; the front end stays up to show it
            traceback.print_exc()
            with self._cond:
                self._error = f"{type(err).__name__}: {err}"

    def _generate_next(self) -> bool:
        """Carry out the queued commands, then make one chunk when one is wanted; False to stop."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or self._commands
                                or (not self._paused and self._playback.wants_next()))
            if self._closed:
                return False
            command = self._commands.popleft() if self._commands else None
            action = None if command is not None else self._keys.take_action()
        if command is not None:
            try:
                self._run_command(*command)
            except (ValueError, TypeError, RuntimeError) as err:  # one bad request: shown, the world goes on
                with self._cond:
                    self._error = f"{type(err).__name__}: {err}"
            return True
        started = time.perf_counter()
        *_, info = self.env.step(action)
        self._show(info, action, time.perf_counter() - started)
        return True

    def _run_command(self, kind: str, value: Any) -> None:
        if kind == _EVENT:
            self.env.unwrapped.set_event(value)
        elif kind == _RECORD:
            self.recorder.set_recording(value)
        else:
            started = time.perf_counter()
            _, info = self.env.reset(seed=self.seed, options=self.options)
            self._show(info, None, time.perf_counter() - started)

    def _show(self, info: dict[str, Any], action: int | None, generate_s: float) -> None:
        chunk = Chunk(frames=info["frames"], action_id=action, event=info.get("event"),
                      step=int(info.get("step", 0)), generate_s=generate_s)
        with self._cond:
            if action is not None and any(kind == _RESET for kind, _ in self._commands):
                return  # a reset was asked for while this chunk was generated: drop it
            self._playback.push(chunk)
            self._last_generate_s = generate_s
            stopped_itself = self.recorder is not None and not self.recorder.recording  # e.g. at its frame limit
            if stopped_itself and not any(kind == _RECORD for kind, _ in self._commands):
                self._recording = False

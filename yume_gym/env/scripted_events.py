"""``ScriptedEvents``: a wrapper that applies a file of text events to an env, step by step.

The file (JSON or YAML) holds a schedule in the format of :func:`yume_gym.events.validate_schedule`;
each entry is applied through the env's ``set_event`` before the step it names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym

from yume_gym.events import EventSchedule, load_schedule


class ScriptedEvents(gym.Wrapper):
    """Apply a schedule of text events read from a JSON or YAML file, through ``set_event``.

    Before the k-th ``step()`` after a reset, an entry at step k is applied with
    ``env.unwrapped.set_event(text)``, so its text is in the caption of that step's chunk
    (``None`` clears). The file's steps must be >= 1: step 0 is the opening chunk, which
    ``reset()`` has generated before any live event can apply; put step-0 events in the env's
    ``events`` argument or ``reset(options={"events": ...})`` instead. The env's own schedule
    is applied after the file's entries, so it wins on a shared step.

    ``set_event(text)`` on this wrapper changes the event live and keeps :attr:`schedule`
    (an :class:`EventSchedule`) in step with it.

    Example file (YAML)::

        - {step: 3, event: night falls}
        - [8, a storm rolls in]
        - {step: 12, event: null}
    """

    def __init__(self, env: gym.Env, path: str | os.PathLike) -> None:
        super().__init__(env)
        if not callable(getattr(env.unwrapped, "set_event", None)):
            name = type(env.unwrapped).__name__
            raise TypeError(f"ScriptedEvents needs an env with set_event(text); {name} has none")
        entries = load_schedule(path)
        if entries and entries[0][0] == 0:
            raise ValueError(
                f"event file {str(path)!r}: an event at step 0 would need the opening chunk, which reset() "
                f"generates; give it to the env as events=[(0, text)] or reset(options={{'events': ...}})"
            )
        self.path = Path(path)
        self.entries = entries
        self._by_step = dict(entries)
        self.schedule = EventSchedule(entries)
        self._step = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env and restart the file's schedule at step 0."""
        self.schedule = EventSchedule(self.entries)
        self._step = 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any):
        """Apply the file's entry for this step (if any), then step the env."""
        next_step = self._step + 1
        if next_step in self._by_step:
            self.env.unwrapped.set_event(self._by_step[next_step])
        result = self.env.step(action)
        self._step = next_step
        return result

    def set_event(self, text: str | None) -> None:
        """Change the event live, from the next step on (None clears it)."""
        self.schedule.set(text, self._step + 1)
        self.env.unwrapped.set_event(text)

    @property
    def active_event(self) -> str | None:
        """The event this wrapper last made active (the file's entries and live changes)."""
        return self.schedule.active(self._step)

"""Text events: "a storm rolls in", "night falls", scheduled by step or set live.

An event is a short text that joins the caption of every chunk while it is active. It reaches
an env as a schedule at reset, live between steps, or from a file (the ScriptedEvents
wrapper). Step numbering, schedule rules and live overrides: docs/architecture.md.

>>> schedule = EventSchedule([(2, "night falls"), (5, None)])
>>> [schedule.active(k) for k in range(6)]
[None, None, 'night falls', 'night falls', 'night falls', None]
>>> schedule.set("a storm rolls in", 3)
>>> [schedule.active(k) for k in range(6)]
[None, None, 'night falls', 'a storm rolls in', 'a storm rolls in', None]
"""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

MAX_EVENT_CHARS = 300
MAX_PROMPT_CHARS = 2000  # a prompt is a scene description; the released captions are far shorter
SCHEDULE_FILE_SUFFIXES = (".json", ".yaml", ".yml")

Schedule = list[tuple[int, "str | None"]]


def validate_text(text: Any, where: str, max_chars: int, kind: str = "texts") -> str:
    """Check one text: a string that is not blank, encodable as UTF-8 (no lone surrogates such as
    ``"\\ud800"``) and at most ``max_chars`` characters; returns it unchanged, else a ValueError
    that names ``where``, the value and the fix."""
    if not isinstance(text, str):
        raise ValueError(f"{where}: the text {text!r} has type {type(text).__name__}; expected a string")
    if not text.strip():
        raise ValueError(f"{where}: the text {text!r} is blank; write some words")
    if len(text) > max_chars:
        raise ValueError(
            f"{where}: the text is {len(text)} characters long ({text[:40]!r}...); "
            f"{kind} are at most {max_chars} characters, shorten it"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"{where}: the text {text!r} holds {text[err.start:err.end]!r} at position {err.start}, which is not a "
            "character (a lone surrogate) and cannot be encoded; remove it or send valid UTF-8"
        ) from None
    return text


def validate_event_text(text: Any, where: str = "event text") -> str | None:
    """Check one event text (see :func:`validate_text`, at most MAX_EVENT_CHARS characters), or
    None, which clears the event. Returns the text unchanged."""
    if text is None:
        return None
    if isinstance(text, str) and not text.strip():
        raise ValueError(f"{where}: the text {text!r} is blank; write the event, or use None to clear the event")
    return validate_text(text, where, MAX_EVENT_CHARS, "events")


def validate_step(step: Any, where: str = "step") -> int:
    """Check one step index: an integer >= 0 (numpy integers accepted, bools refused)."""
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, np.integer)):
        raise ValueError(f"{where}: the step {step!r} has type {type(step).__name__}; expected an integer >= 0")
    if step < 0:
        raise ValueError(f"{where}: the step {step!r} is negative; steps count from 0 (the opening chunk)")
    return int(step)


def validate_schedule(events: Any) -> Schedule:
    """Check an event schedule and return it as a list of ``(step, text)`` tuples.

    Accepts a list or tuple whose entries are ``(step, text)`` tuples, ``[step, text]`` lists or
    ``{"step": step, "event": text}`` mappings. Raises ValueError naming the offending entry for
    anything else, for a negative or non-integer step, for a text that is not a non-blank string
    of at most MAX_EVENT_CHARS characters (or None, which clears), and for steps that are not
    strictly increasing (duplicates included).

    >>> validate_schedule([[0, "fog"], {"step": 4, "event": None}])
    [(0, 'fog'), (4, None)]
    """
    if isinstance(events, np.ndarray):
        events = events.tolist()
    if not isinstance(events, (list, tuple)):
        raise ValueError(
            f"an event schedule must be a list of (step, text) pairs, got {type(events).__name__} {events!r:.80}"
        )
    schedule: Schedule = []
    for i, entry in enumerate(events):
        where = f"events[{i}] = {entry!r:.80}"
        step, text = _split_entry(entry, where)
        step = validate_step(step, where)
        text = validate_event_text(text, where)
        if schedule and step <= schedule[-1][0]:
            previous = schedule[-1][0]
            problem = "repeats" if step == previous else "comes after"
            raise ValueError(
                f"{where}: step {step} {problem} step {previous}; steps must be strictly increasing "
                f"(sort the schedule, and merge two events of one step into one text)"
            )
        schedule.append((step, text))
    return schedule


def _split_entry(entry: Any, where: str) -> tuple[Any, Any]:
    if isinstance(entry, dict):
        if set(entry) != {"step", "event"}:
            raise ValueError(f"{where}: a mapping entry needs exactly the keys 'step' and 'event', got {sorted(entry)}")
        return entry["step"], entry["event"]
    if not isinstance(entry, (tuple, list)) or len(entry) != 2:
        raise ValueError(f"{where}: expected a (step, text) pair or a {{'step': ..., 'event': ...}} mapping")
    return entry[0], entry[1]


class EventSchedule:
    """The active event at every step: a validated schedule plus live overrides.

    ``active(k)`` is the text of the latest entry at a step <= k, taking scheduled entries and
    live ones (``set``/``clear``) together; on a tie of steps the scheduled entry wins. So a
    live event lasts until the next scheduled entry or the next live change.
    """

    def __init__(self, events: Sequence[Any] = ()) -> None:
        self.scheduled: tuple[tuple[int, str | None], ...] = tuple(validate_schedule(list(events)))
        self.live: list[tuple[int, str | None]] = []

    def set(self, text: str | None, step: int) -> None:
        """Make ``text`` the active event from ``step`` on (None clears it).

        Live changes are made in step order; a second change at the same step replaces the first.
        """
        step = validate_step(step)
        text = validate_event_text(text)
        if self.live and step < self.live[-1][0]:
            raise ValueError(
                f"live event at step {step} comes before the previous live change at step "
                f"{self.live[-1][0]}; live events are set in step order"
            )
        if self.live and step == self.live[-1][0]:
            self.live.pop()
        self.live.append((step, text))

    def clear(self, step: int) -> None:
        """Clear the active event from ``step`` on (until the next scheduled entry)."""
        self.set(None, step)

    def active(self, step: int) -> str | None:
        """The event text active for the chunk of ``step``, or None."""
        step = validate_step(step)
        scheduled = _latest(self.scheduled, step)
        live = _latest(self.live, step)
        if live is None or (scheduled is not None and scheduled[0] >= live[0]):
            return None if scheduled is None else scheduled[1]
        return live[1]


def _latest(entries: Sequence[tuple[int, str | None]], step: int) -> tuple[int, str | None] | None:
    """The last entry whose step is <= ``step`` (entries sorted by step)."""
    i = bisect.bisect_right([s for s, _ in entries], step)
    return entries[i - 1] if i else None


def load_schedule(path: str | os.PathLike) -> Schedule:
    """Read an event schedule from a ``.json``, ``.yaml`` or ``.yml`` file.

    The file holds a list whose entries are ``[step, text]`` pairs or
    ``{"step": step, "event": text}`` objects (``null`` clears). Raises FileNotFoundError for a
    missing file and ValueError, naming the file, for unreadable or invalid content.
    """
    path = Path(path)
    if path.suffix.lower() not in SCHEDULE_FILE_SUFFIXES:
        raise ValueError(f"event file {str(path)!r} has an unknown extension; use one of {SCHEDULE_FILE_SUFFIXES}")
    if not path.is_file():
        raise FileNotFoundError(f"no event file at {str(path)!r}; check the path")
    text = path.read_text(encoding="utf-8")
    is_json = path.suffix.lower() == ".json"
    try:
        data = json.loads(text) if is_json else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ValueError(f"event file {str(path)!r} is not valid {'JSON' if is_json else 'YAML'}: {err}") from err
    try:
        return validate_schedule(data)
    except ValueError as err:
        raise ValueError(f"event file {str(path)!r}: {err}") from err


def check_prompt(prompt: Any) -> str | tuple[str, ...] | None:
    """A prompt (a string), a tuple of prompts to pick from per episode, or None; TypeError for
    another type, ValueError for a text :func:`validate_text` refuses."""
    if prompt is None:
        return None
    if isinstance(prompt, str):
        return validate_text(prompt, "prompt", MAX_PROMPT_CHARS, "prompts")
    if isinstance(prompt, Sequence) and len(prompt) > 0 and all(isinstance(p, str) for p in prompt):
        return tuple(validate_text(p, f"prompt[{i}]", MAX_PROMPT_CHARS, "prompts") for i, p in enumerate(prompt))
    raise TypeError(f"prompt must be a string or a non-empty sequence of strings, got {type(prompt).__name__} {prompt!r}")


def merge_start_options(defaults: dict[str, Any], options: Any, known: Sequence[str], hint: str = "") -> dict[str, Any]:
    """Reset ``options`` checked (a dict of ``known`` keys; ``hint`` follows an unknown-key error)
    and merged over ``defaults``, with the prompt and the event schedule validated."""
    if options is None:
        return dict(defaults)
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict with keys from {tuple(known)}, got {type(options).__name__}")
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown}{hint}; known options: {list(known)}")
    merged = {**defaults, **options}
    merged["prompt"] = check_prompt(merged["prompt"])
    merged["events"] = tuple(validate_schedule(() if merged["events"] is None else merged["events"]))
    return merged


def scene_text(prompt: str | None, event: str | None) -> str | None:
    """The caption's second part: the prompt followed by the active event (None when both are
    empty), at inference and in training alike."""
    parts = [p for p in (prompt, event) if p]
    return " ".join(parts) if parts else None

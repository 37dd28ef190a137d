"""Text events of the procedural world: the vocabulary, in one place, and its parser.

An event text is the same free text a user gives the world model ("night falls", "a red pillar
appears"). :func:`parse_event` turns it into an :class:`Event`: changes to the weather and
light (:mod:`procworld.atmosphere`) and objects to spawn. Texts it does not know raise a
ValueError that lists what it does know: this world never ignores an event silently.

Vocabulary (case, surrounding spaces and a final "." or "!" are ignored; "an" = "a"):

- rain:    "it starts to rain", "rain", "rain starts falling", "it begins to rain", "it rains"
- snow:    "it starts to snow", "snow", "snow starts falling", "it begins to snow", "it snows"
- night:   "night falls", "night", "darkness falls", "it gets dark"
- fog:     "fog rolls in", "fog", "a thick fog rolls in", "mist rolls in"
- sunset:  "the sun sets", "sunset", "the sun goes down", "dusk falls"
- storm:   "a storm rolls in", "storm", "a thunderstorm starts"
- appear:  "a <colour> <kind> appears", "a <colour> <kind> appears ahead",
  "a <colour> <kind> rises from the ground", with a colour and kind of :mod:`procworld.scene`
- several at once, joined by " and " or ", ": "night falls and it starts to rain"

The first phrase of each list is the canonical one (:data:`EVENT_EXAMPLES`); the others are
accepted variants, and :func:`event_phrases` lists them all for text-side training captions.

>>> parse_event("Night falls.").kinds
('night',)
>>> parse_event("an orange box appears and it starts to snow").spawns
(('orange', 'box'),)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from procworld.scene import COLOURS, KINDS

# (field, operation, value): "set" replaces the target, "max"/"min" only raise/lower it.
Change = tuple[str, str, float]

PHRASES: dict[str, tuple[str, ...]] = {
    "rain": ("it starts to rain", "rain", "rain starts falling", "it begins to rain", "it rains"),
    "snow": ("it starts to snow", "snow", "snow starts falling", "it begins to snow", "it snows"),
    "night": ("night falls", "night", "darkness falls", "it gets dark"),
    "fog": ("fog rolls in", "fog", "a thick fog rolls in", "mist rolls in"),
    "sunset": ("the sun sets", "sunset", "the sun goes down", "dusk falls"),
    "storm": ("a storm rolls in", "storm", "a thunderstorm starts"),
}
APPEAR_TEMPLATES = (
    "a {colour} {kind} appears",
    "a {colour} {kind} appears ahead",
    "a {colour} {kind} rises from the ground",
)

EFFECTS: dict[str, tuple[Change, ...]] = {
    "rain": (("rain", "set", 1.0), ("snow", "set", 0.0), ("cloud", "max", 0.85), ("daylight", "min", 0.75), ("fog", "max", 0.25)),
    "snow": (("snow", "set", 1.0), ("rain", "set", 0.0), ("cloud", "max", 0.7), ("cover", "max", 0.85), ("daylight", "min", 0.9)),
    "night": (("daylight", "set", 0.12), ("warmth", "set", 0.0)),
    "fog": (("fog", "set", 1.0),),
    "sunset": (("warmth", "set", 1.0), ("daylight", "min", 0.7)),
    "storm": (("cloud", "set", 1.0), ("rain", "set", 1.0), ("snow", "set", 0.0), ("daylight", "min", 0.45), ("fog", "max", 0.4)),
}  # fmt: skip

EVENT_EXAMPLES: tuple[str, ...] = (
    *(phrases[0] for phrases in PHRASES.values()),
    "a red pillar appears",
    "a blue box appears",
    "a yellow tree appears",
    "a white wall appears",
)


@dataclass(frozen=True)
class Event:
    """A parsed event: its canonical ``text``, the ``kinds`` it names, weather ``changes`` and
    ``spawns`` ((colour, kind) pairs of objects that rise in front of the camera)."""

    text: str
    kinds: tuple[str, ...]
    changes: tuple[Change, ...]
    spawns: tuple[tuple[str, str], ...]


def parse_event(text: str) -> Event:
    """Parse an event text (see the module doc); ValueError for text this world does not know."""
    if not isinstance(text, str):
        raise TypeError(f"an event text must be a string, got {type(text).__name__} {text!r}")
    parts = [p for p in re.split(r",|\band\b", _normalise(text)) if p.strip()]
    if not parts:
        raise ValueError(f"event text {text!r} is blank; write an event such as {EVENT_EXAMPLES[0]!r}")
    kinds, changes, spawns, canonical = [], [], [], []
    for part in (" ".join(p.split()) for p in parts):
        kind, spawn = _parse_part(part, text)
        kinds.append(kind)
        if spawn is None:
            changes.extend(EFFECTS[kind])
            canonical.append(PHRASES[kind][0])
        else:
            spawns.append(spawn)
            canonical.append(appear_text(*spawn))
    return Event(" and ".join(canonical), tuple(kinds), tuple(changes), tuple(spawns))


def appear_text(colour: str, kind: str, template: str = APPEAR_TEMPLATES[0]) -> str:
    """"a red pillar appears" (with "an" before a vowel) for a colour and kind."""
    text = template.format(colour=colour, kind=kind)
    return re.sub(r"^a (?=[aeiou])", "an ", text)


def event_phrases() -> dict[str, tuple[str, ...]]:
    """Every accepted phrase per event kind, with appear phrases for every colour and kind."""
    appear = tuple(appear_text(c, k, t) for t in APPEAR_TEMPLATES for c in COLOURS for k in KINDS)
    return {**PHRASES, "appear": appear}


def sample_event_text(rng: np.random.Generator, appear_share: float | None = None) -> str:
    """A random single event phrase: a kind, then a phrasing.

    The kind is uniform over the weather kinds and "appear" (which counts once), or, with
    ``appear_share``, "appear" with that probability and a uniform weather kind otherwise.
    """
    if appear_share is None:
        kinds = (*PHRASES, "appear")
        kind = kinds[int(rng.integers(len(kinds)))]
    elif rng.random() < appear_share:
        kind = "appear"
    else:
        kind = list(PHRASES)[int(rng.integers(len(PHRASES)))]
    if kind != "appear":
        return PHRASES[kind][int(rng.integers(len(PHRASES[kind])))]
    colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
    template = APPEAR_TEMPLATES[int(rng.integers(len(APPEAR_TEMPLATES)))]
    return appear_text(colour, KINDS[int(rng.integers(len(KINDS)))], template)


def _normalise(text: str) -> str:
    words = text.strip().rstrip(".!").lower().split()
    return " ".join("a" if w == "an" else w for w in words)


def _parse_part(part: str, text: str) -> tuple[str, tuple[str, str] | None]:
    for kind, phrases in PHRASES.items():
        if part in phrases:
            return kind, None
    for template in APPEAR_TEMPLATES:
        pattern = "^" + template.format(colour=r"(?P<colour>\w+)", kind=r"(?P<kind>\w+)") + "$"
        match = re.match(pattern, part)
        if match:
            colour, kind = match["colour"], match["kind"]
            if colour not in COLOURS:
                raise ValueError(f"event {text!r}: unknown colour {colour!r}; expected one of {list(COLOURS)}")
            if kind not in KINDS:
                raise ValueError(f"event {text!r}: unknown object kind {kind!r}; expected one of {list(KINDS)}")
            return "appear", (colour, kind)
    raise ValueError(
        f"unknown event {part!r} in {text!r}; this world knows rain, snow, night, fog, sunset, storm "
        f"and 'a <colour> <kind> appears', e.g. {list(EVENT_EXAMPLES[:6])} (see procworld.events.PHRASES)"
    )

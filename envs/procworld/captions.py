"""Scene captions: a scene spec as one line of text, and that text back into the spec.

The grammar is ``<ground> with <groups> under <sky>``:

- ground: "a grassy meadow", "a snowy field", "a sandy desert", "a stone plaza", "a muddy field";
- groups: one to three "<colour> <kind>s" joined as "A", "A and B" or "A, B and C", with the
  colours and kinds of :mod:`procworld.scene` ("red pillars", "green trees", "blue boxes",
  "white walls");
- sky: "a clear sky", "an overcast sky", "a dusk sky", "a night sky".

``parse_caption`` ignores case, surrounding spaces, a final full stop and the choice between
"a" and "an", accepts singular kinds ("a red pillar"), and raises a ValueError that names any
word it does not know. ``scene_caption(parse_caption(text)) == text`` for every caption that
``scene_caption`` writes.

>>> spec = parse_caption("A snowy field with red pillars under a dusk sky.")
>>> spec.ground, spec.sky, [(g.colour, g.kind) for g in spec.groups]
('snow', 'dusk', [('red', 'pillar')])
>>> scene_caption(spec)
'a snowy field with red pillars under a dusk sky'
"""

from __future__ import annotations

import re

from procworld.scene import COLOURS, KINDS, MAX_GROUPS, Group, Scene, SceneSpec

GROUND_PHRASES = {
    "grass": "a grassy meadow",
    "snow": "a snowy field",
    "sand": "a sandy desert",
    "stone": "a stone plaza",
    "dirt": "a muddy field",
}
SKY_PHRASES = {
    "clear": "a clear sky",
    "overcast": "an overcast sky",
    "dusk": "a dusk sky",
    "night": "a night sky",
}
PLURALS = {"pillar": "pillars", "box": "boxes", "tree": "trees", "wall": "walls"}

_SHAPE = re.compile(r"^(?P<ground>.+?) with (?P<groups>.+) under (?P<sky>.+)$")


def scene_caption(scene: Scene | SceneSpec) -> str:
    """The caption of a scene or spec, e.g. "a snowy field with red pillars under a dusk sky"."""
    spec = scene.spec if isinstance(scene, Scene) else scene
    if not isinstance(spec, SceneSpec):
        raise TypeError(f"scene_caption needs a Scene or SceneSpec, got {type(scene).__name__}")
    names = [f"{g.colour} {PLURALS[g.kind]}" for g in spec.groups]
    groups = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{GROUND_PHRASES[spec.ground]} with {groups} under {SKY_PHRASES[spec.sky]}"


def parse_caption(text: str) -> SceneSpec:
    """The scene spec a caption describes; ValueError naming the unknown part otherwise."""
    if not isinstance(text, str):
        raise TypeError(f"a scene caption must be a string, got {type(text).__name__} {text!r}")
    normal = normalise(text)
    match = _SHAPE.match(normal)
    if match is None:
        raise ValueError(
            f"scene caption {text!r} does not read '<ground> with <objects> under <sky>', "
            f"e.g. 'a snowy field with red pillars under a dusk sky'"
        )
    ground = _lookup(match["ground"], GROUND_PHRASES, "ground", text)
    sky = _lookup(match["sky"], SKY_PHRASES, "sky", text)
    return SceneSpec(ground, sky, _parse_groups(match["groups"], text))


def normalise(text: str) -> str:
    """Lower case, single spaces, no final full stop, and "an" written as "a"."""
    words = text.strip().rstrip(".").lower().replace(",", " , ").split()
    return " ".join("a" if w == "an" else w for w in words).replace(" ,", ",")


def _lookup(phrase: str, table: dict[str, str], what: str, text: str) -> str:
    inverse = {normalise(v): k for k, v in table.items()}
    if phrase not in inverse:
        raise ValueError(
            f"unknown {what} {phrase!r} in scene caption {text!r}; expected one of {list(table.values())}"
        )
    return inverse[phrase]


def _parse_groups(phrase: str, text: str) -> tuple[Group, ...]:
    parts = [p.strip() for p in re.split(r",|\band\b", phrase) if p.strip()]
    if not 1 <= len(parts) <= MAX_GROUPS:
        raise ValueError(f"scene caption {text!r} names {len(parts)} object groups; name 1 to {MAX_GROUPS}")
    singulars = {plural: kind for kind, plural in PLURALS.items()} | {k: k for k in KINDS}
    groups = []
    for part in parts:
        words = part.split()
        if words and words[0] == "a":
            words = words[1:]
        if len(words) != 2:
            raise ValueError(
                f"object group {part!r} in scene caption {text!r} should read '<colour> <kind>s', "
                "e.g. 'red pillars'"
            )
        colour, kind = words
        if colour not in COLOURS:
            raise ValueError(
                f"unknown colour {colour!r} in scene caption {text!r}; expected one of {list(COLOURS)}"
            )
        if kind not in singulars:
            raise ValueError(
                f"unknown object kind {kind!r} in scene caption {text!r}; "
                f"expected one of {list(PLURALS.values())}"
            )
        groups.append(Group(colour, singulars[kind]))
    return tuple(groups)

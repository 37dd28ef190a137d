"""Scenes of the procedural world: the text-describable parameters and the seeded layout.

A :class:`SceneSpec` holds what a caption says: the ground, the sky and one to three groups of
objects, each a colour and a kind ("a snowy field with red pillars under a dusk sky"). A
:class:`Scene` adds what a seed decides: where every object stands, its size and exact shade,
the sun's azimuth and the offset of the ground texture. ``build_scene(spec, seed)`` is a pure
function, so a caption and a seed give one world.

Units are metres and radians. The ground is the plane y = 0; x points right and z forward when
the yaw is 0. The layout repeats every :data:`TILE` metres in x and z, so a walk never runs out
of world; the renderer fades everything out before :data:`VIEW_DISTANCE`, which is shorter than
half a tile, so no object is ever seen twice at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TILE = 32.0  # the layout repeats every TILE metres in x and z
VIEW_DISTANCE = 12.5  # camera depth (metres) beyond which everything has faded into the fog
START_CLEARANCE = 2.5  # no object stands closer than this to the start position (0, 0)

GROUNDS = ("grass", "snow", "sand", "stone", "dirt")
SKIES = ("clear", "overcast", "dusk", "night")
KINDS = ("pillar", "box", "tree", "wall")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (205, 40, 35),
    "orange": (240, 130, 25),
    "yellow": (240, 210, 40),
    "green": (45, 160, 55),
    "blue": (35, 85, 215),
    "purple": (135, 55, 180),
    "white": (238, 238, 232),
    "black": (30, 30, 34),
}
MAX_GROUPS = 3

# Objects per tile for each kind (inclusive range).
_COUNTS = {"pillar": (12, 18), "box": (12, 18), "tree": (14, 22), "wall": (5, 8)}


@dataclass(frozen=True)
class Group:
    """A group of objects that share a colour and a kind: "red pillars"."""

    colour: str
    kind: str

    def __post_init__(self) -> None:
        if self.colour not in COLOURS:
            raise ValueError(f"unknown colour {self.colour!r}; expected one of {sorted(COLOURS)}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown object kind {self.kind!r}; expected one of {list(KINDS)}")


@dataclass(frozen=True)
class SceneSpec:
    """The parameters a caption describes: ground, sky and 1-3 distinct object groups."""

    ground: str
    sky: str
    groups: tuple[Group, ...]

    def __post_init__(self) -> None:
        if self.ground not in GROUNDS:
            raise ValueError(f"unknown ground {self.ground!r}; expected one of {list(GROUNDS)}")
        if self.sky not in SKIES:
            raise ValueError(f"unknown sky {self.sky!r}; expected one of {list(SKIES)}")
        groups = tuple(self.groups)
        if not 1 <= len(groups) <= MAX_GROUPS or not all(isinstance(g, Group) for g in groups):
            raise ValueError(f"a scene needs 1 to {MAX_GROUPS} Group entries, got {self.groups!r}")
        if len(set(groups)) != len(groups):
            raise ValueError(f"object groups must be distinct, got {[(g.colour, g.kind) for g in groups]}")
        object.__setattr__(self, "groups", groups)


@dataclass(frozen=True)
class SceneObject:
    """One object of the world, at its position in the first tile [0, TILE)^2.

    ``radius`` is the footprint radius of a pillar or a tree's crown, or the bounding radius of
    a box or wall; ``half_x``/``half_z`` are a box's or wall's half extents along its own axes,
    turned by ``angle`` (radians) about the vertical; ``height`` is the top of the object.
    ``rgb`` is its exact colour (the group's colour with a small per-object variation).
    """

    kind: str
    colour: str
    x: float
    z: float
    angle: float
    half_x: float
    half_z: float
    height: float
    rgb: tuple[float, float, float]

    @property
    def radius(self) -> float:
        if self.kind in ("pillar", "tree"):
            return self.half_x
        return math.hypot(self.half_x, self.half_z)

    @property
    def blocking_radius(self) -> float:
        """The radius the camera cannot enter (for a tree, nearly all of its crown)."""
        return 0.9 * self.half_x if self.kind == "tree" else self.half_x


@dataclass(frozen=True)
class Scene:
    """A spec made concrete by a seed: objects, sun azimuth and ground texture offset."""

    spec: SceneSpec
    seed: int
    objects: tuple[SceneObject, ...]
    sun_azimuth: float
    texture_offset: tuple[float, float]


def random_spec(rng: np.random.Generator) -> SceneSpec:
    """A random scene spec: any ground, sky and 1-3 distinct (colour, kind) groups."""
    n_groups = int(rng.integers(1, MAX_GROUPS + 1))
    kinds = rng.permutation(len(KINDS))[:n_groups]
    colours = list(COLOURS)
    groups = tuple(Group(colours[int(rng.integers(len(colours)))], KINDS[int(k)]) for k in kinds)
    return SceneSpec(GROUNDS[int(rng.integers(len(GROUNDS)))], SKIES[int(rng.integers(len(SKIES)))], groups)


def build_scene(spec: SceneSpec, seed: int) -> Scene:
    """Lay out ``spec`` with ``seed``: the same spec and seed always give the same scene.

    The first group's first object stands 5-8 m straight ahead of the start pose, so every
    scene opens with something in view.
    """
    if not isinstance(spec, SceneSpec):
        raise TypeError(f"spec must be a SceneSpec, got {type(spec).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed {seed!r} must be an integer >= 0")
    rng = np.random.default_rng([int(seed), 0x5CE7E])
    placed: list[SceneObject] = []
    for g, group in enumerate(spec.groups):
        low, high = _COUNTS[group.kind]
        for i in range(int(rng.integers(low, high + 1))):
            obj = _place(rng, group, placed, ahead=(g == 0 and i == 0))
            if obj is not None:
                placed.append(obj)
    sun_azimuth = float(rng.uniform(-math.pi, math.pi))
    offset = (float(rng.uniform(0, TILE)), float(rng.uniform(0, TILE)))
    return Scene(spec, int(seed), tuple(placed), sun_azimuth, offset)


def make_object(rng: np.random.Generator, colour: str, kind: str, x: float, z: float) -> SceneObject:
    """An object of ``kind`` at (x, z) with a random size, turn and shade drawn from ``rng``."""
    if kind == "pillar":
        r = float(rng.uniform(0.25, 0.45))
        half, height, angle = (r, r), float(rng.uniform(2.4, 4.0)), 0.0
    elif kind == "tree":
        r = float(rng.uniform(0.9, 1.4))
        half, height, angle = (r, r), float(rng.uniform(2.8, 4.2)), 0.0
    elif kind == "box":
        half = (float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.35, 0.65)))
        height, angle = float(rng.uniform(0.6, 1.3)), float(rng.uniform(0, math.pi))
    else:  # wall
        half = (float(rng.uniform(1.5, 3.0)), float(rng.uniform(0.12, 0.2)))
        height, angle = float(rng.uniform(1.8, 2.6)), float(rng.uniform(0, math.pi))
    shade = rng.uniform(0.9, 1.06, size=3)
    rgb = tuple(float(v) for v in np.clip(np.asarray(COLOURS[colour]) * shade, 0, 255))
    return SceneObject(kind, colour, float(x), float(z), angle, half[0], half[1], height, rgb)


def _place(
    rng: np.random.Generator, group: Group, placed: list[SceneObject], ahead: bool
) -> SceneObject | None:
    """Try a few random spots for one object; None when the tile is too crowded."""
    for _ in range(30):
        if ahead:
            x, z = rng.uniform(-1.2, 1.2) % TILE, rng.uniform(5.0, 8.0)
        else:
            x, z = rng.uniform(0, TILE, size=2)
        obj = make_object(rng, group.colour, group.kind, x, z)
        clear_of_start = periodic_distance(x, z, 0.0, 0.0) > obj.radius + START_CLEARANCE
        if clear_of_start and is_free(obj.x, obj.z, obj.radius + 0.8, placed):
            return obj
    return None


def periodic_offset(x: np.ndarray | float, origin: np.ndarray | float) -> np.ndarray | float:
    """The signed offset ``x - origin`` wrapped into [-TILE/2, TILE/2): the nearest copy."""
    return (np.asarray(x) - origin + TILE / 2) % TILE - TILE / 2


def periodic_distance(x: float, z: float, x0: float, z0: float) -> float:
    """Distance on the ground between (x, z) and the nearest copy of (x0, z0)."""
    half = TILE / 2
    return math.hypot((x - x0 + half) % TILE - half, (z - z0 + half) % TILE - half)


def is_free(x: float, z: float, radius: float, objects: list[SceneObject] | tuple[SceneObject, ...]) -> bool:
    """True when a disc of ``radius`` at (x, z) keeps clear of every object's bounding circle."""
    return all(periodic_distance(x, z, o.x, o.z) > radius + o.radius for o in objects)

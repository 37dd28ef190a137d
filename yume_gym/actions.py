"""Keyboard and camera actions: the one source of truth for every env, model and front end.

Yume-1.5 is conditioned on a caption that names a movement key and a camera rotation: 9
movements x 9 rotations = 81 actions, whose index orders are a public contract (DESIGN.md
section 3). The orders and the action spaces: docs/architecture.md.

>>> caption_for_action(action_id(MOVEMENT_INDEX["W"], ROTATION_INDEX["←"]))[:60]
'First-person perspective. The camera pushes forward (W). The'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

CAPTION_PREFIX = "First-person perspective."
NUM_MOVEMENTS = 9
NUM_ROTATIONS = 9
NUM_ACTIONS = NUM_MOVEMENTS * NUM_ROTATIONS


@dataclass(frozen=True)
class Movement:
    """A movement key combination: ``forward`` is +1 for W, -1 for S; ``right`` +1 for D, -1 for A."""

    index: int
    keys: str
    forward: int
    right: int
    sentence: str


@dataclass(frozen=True)
class Rotation:
    """A camera rotation: ``yaw`` is +1 for a pan right (→); ``pitch`` is +1 for a tilt up (↑)."""

    index: int
    arrows: str
    yaw: int
    pitch: int
    sentence: str


def _movement_sentence(forward: int, right: int, keys: str) -> str:
    if forward == 0 and right == 0:
        return "The camera's movement direction remains stationary (·)."
    parts = []
    if forward:
        parts.append("pushes forward" if forward > 0 else "pulls back")
    if right:
        parts.append("moves to the right" if right > 0 else "moves to the left")
    return f"The camera {' and '.join(parts)} ({keys})."


def _rotation_sentence(yaw: int, pitch: int, arrows: str) -> str:
    if yaw == 0 and pitch == 0:
        return "The rotation direction of the camera remains stationary (·)."
    parts = []
    if pitch:
        parts.append("tilts up" if pitch > 0 else "tilts down")
    if yaw:
        parts.append("pans to the right" if yaw > 0 else "pans to the left")
    return f"The camera {' and '.join(parts)} ({arrows})."


# (keys, forward, right) in the public index order.
_MOVEMENT_TABLE = [
    ("none", 0, 0), ("W", 1, 0), ("A", 0, -1), ("S", -1, 0), ("D", 0, 1),
    ("W+A", 1, -1), ("W+D", 1, 1), ("S+A", -1, -1), ("S+D", -1, 1),
]  # fmt: skip
# (arrows, yaw, pitch) in the public index order.
_ROTATION_TABLE = [
    ("none", 0, 0), ("→", 1, 0), ("←", -1, 0), ("↑", 0, 1), ("↓", 0, -1),
    ("↑→", 1, 1), ("↑←", -1, 1), ("↓→", 1, -1), ("↓←", -1, -1),
]  # fmt: skip

MOVEMENTS: tuple[Movement, ...] = tuple(
    Movement(i, keys, fwd, right, _movement_sentence(fwd, right, keys))
    for i, (keys, fwd, right) in enumerate(_MOVEMENT_TABLE)
)
ROTATIONS: tuple[Rotation, ...] = tuple(
    Rotation(i, arrows, yaw, pitch, _rotation_sentence(yaw, pitch, arrows))
    for i, (arrows, yaw, pitch) in enumerate(_ROTATION_TABLE)
)
MOVEMENT_INDEX: dict[str, int] = {m.keys: m.index for m in MOVEMENTS}
ROTATION_INDEX: dict[str, int] = {r.arrows: r.index for r in ROTATIONS}

# Compact Discrete(9): no-op, W, S, A, D, ←, →, ↑, ↓ as (movement, rotation) pairs.
COMPACT_ACTIONS: tuple[tuple[int, int], ...] = (
    (0, 0),
    (MOVEMENT_INDEX["W"], 0),
    (MOVEMENT_INDEX["S"], 0),
    (MOVEMENT_INDEX["A"], 0),
    (MOVEMENT_INDEX["D"], 0),
    (0, ROTATION_INDEX["←"]),
    (0, ROTATION_INDEX["→"]),
    (0, ROTATION_INDEX["↑"]),
    (0, ROTATION_INDEX["↓"]),
)

ACTION_SPACE_KINDS = ("discrete", "multi_discrete", "compact")


def action_id(movement: int, rotation: int) -> int:
    """The ``Discrete(81)`` id of a (movement, rotation) pair."""
    if not 0 <= int(movement) < NUM_MOVEMENTS:
        raise ValueError(f"movement index {movement!r} is out of range; expected 0..{NUM_MOVEMENTS - 1}")
    if not 0 <= int(rotation) < NUM_ROTATIONS:
        raise ValueError(f"rotation index {rotation!r} is out of range; expected 0..{NUM_ROTATIONS - 1}")
    return int(movement) * NUM_ROTATIONS + int(rotation)


def split_action(action: int) -> tuple[Movement, Rotation]:
    """The movement and rotation of a ``Discrete(81)`` action id."""
    if not 0 <= int(action) < NUM_ACTIONS:
        raise ValueError(f"action id {action!r} is out of range; expected 0..{NUM_ACTIONS - 1}")
    movement, rotation = divmod(int(action), NUM_ROTATIONS)
    return MOVEMENTS[movement], ROTATIONS[rotation]


def make_action_space(kind: str = "discrete") -> spaces.Space:
    """The Gymnasium space for ``kind``: "discrete" (81), "multi_discrete" ([9, 9]) or "compact" (9)."""
    if kind == "discrete":
        return spaces.Discrete(NUM_ACTIONS)
    if kind == "multi_discrete":
        return spaces.MultiDiscrete([NUM_MOVEMENTS, NUM_ROTATIONS])
    if kind == "compact":
        return spaces.Discrete(len(COMPACT_ACTIONS))
    raise ValueError(f"unknown action space {kind!r}; expected one of {ACTION_SPACE_KINDS}")


def to_action_id(action: Any, kind: str = "discrete") -> int:
    """Convert an action from the space ``kind`` into its ``Discrete(81)`` id, validating it.

    Accepts Python and numpy integers (and 0-d/1-element arrays) for the discrete kinds and a
    length-2 sequence or array for "multi_discrete". Anything else raises a ValueError that
    names the value and what was expected.
    """
    if kind == "multi_discrete":
        arr = np.asarray(action)
        items = list(action) if isinstance(action, (list, tuple)) else []
        has_bool = arr.dtype == np.bool_ or any(isinstance(a, (bool, np.bool_)) for a in items)
        if arr.shape != (2,) or not np.issubdtype(arr.dtype, np.integer) or has_bool:
            raise ValueError(
                f"multi_discrete action {action!r} must be two integers (movement 0-8, rotation 0-8)"
            )
        return action_id(int(arr[0]), int(arr[1]))
    index = _as_int(action, kind)
    if kind == "discrete":
        if not 0 <= index < NUM_ACTIONS:
            raise ValueError(f"action {action!r} is out of range; expected an integer in 0..{NUM_ACTIONS - 1}")
        return index
    if kind == "compact":
        if not 0 <= index < len(COMPACT_ACTIONS):
            raise ValueError(f"compact action {action!r} is out of range; expected 0..{len(COMPACT_ACTIONS) - 1}")
        return action_id(*COMPACT_ACTIONS[index])
    raise ValueError(f"unknown action space {kind!r}; expected one of {ACTION_SPACE_KINDS}")


def _as_int(action: Any, kind: str) -> int:
    if isinstance(action, (bool, np.bool_)):
        raise ValueError(f"{kind} action {action!r} is a bool; pass an integer action id")
    if isinstance(action, (int, np.integer)):
        return int(action)
    arr = np.asarray(action)
    if arr.size == 1 and np.issubdtype(arr.dtype, np.integer):
        return int(arr.reshape(()))
    raise ValueError(f"{kind} action {action!r} must be an integer, got {type(action).__name__}")


def action_from_keys(keys: set[str] | frozenset[str]) -> int:
    """The action id for a set of held keys, e.g. {"W", "A", "LEFT"}; opposite keys cancel.

    Key names: W, A, S, D and the arrows LEFT, RIGHT, UP, DOWN (case-insensitive).
    """
    known = {"W", "A", "S", "D", "LEFT", "RIGHT", "UP", "DOWN"}
    held = {k.upper() for k in keys}
    unknown = held - known
    if unknown:
        raise ValueError(f"unknown key name(s) {sorted(unknown)}; expected some of {sorted(known)}")
    forward = ("W" in held) - ("S" in held)
    right = ("D" in held) - ("A" in held)
    yaw = ("RIGHT" in held) - ("LEFT" in held)
    pitch = ("UP" in held) - ("DOWN" in held)
    movement = next(m.index for m in MOVEMENTS if (m.forward, m.right) == (forward, right))
    rotation = next(r.index for r in ROTATIONS if (r.yaw, r.pitch) == (yaw, pitch))
    return action_id(movement, rotation)


@dataclass(frozen=True)
class SpeedSuffix:
    """The speed sentence appended to an action caption, as in the released training captions.

    ``distance`` is how fast the camera moves while a movement key is held, ``turn_speed`` the
    angular change rate and ``view_speed`` the view rotation speed while an arrow is held. As
    in the released captions they are relative speeds without units (procworld moves
    0.025 * distance metres and turns turn_speed / view_speed degrees per frame). Values of
    0.1-10 are sensible; each is written as 0 when its key group is idle.
    ``distance_when_turning`` replaces ``distance`` while an arrow is held too (None: the same;
    the release's ``caption_re.txt`` writes 0 on some lines that hold W during a turn).
    """

    distance: float = 4.0
    turn_speed: float = 2.0
    view_speed: float = 2.0
    distance_when_turning: float | None = None

    def __post_init__(self) -> None:
        values = {"distance": self.distance, "turn_speed": self.turn_speed, "view_speed": self.view_speed,
                  "distance_when_turning": 0.0 if self.distance_when_turning is None else self.distance_when_turning}
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"speed.{name}={value!r} must be a number >= 0 (a SpeedSuffix field; the release uses 0-10)")

    def text(self, movement: Movement, rotation: Rotation) -> str:
        moving = movement.forward != 0 or movement.right != 0
        turning = rotation.yaw != 0 or rotation.pitch != 0
        moved = self.distance if self.distance_when_turning is None or not turning else self.distance_when_turning
        distance = _fmt(moved if moving else 0)
        turn = _fmt(self.turn_speed if turning else 0)
        view = _fmt(self.view_speed if turning else 0)
        return (
            f"Actual distance moved:{distance} at 100 meters per second. "
            f"Angular change rate (turn speed):{turn}. View rotation speed:{view}."
        )


def _fmt(value: float) -> str:
    return f"{value:g}"


DEFAULT_SPEED = SpeedSuffix()


def caption_for_action(action: int, speed: SpeedSuffix | None = DEFAULT_SPEED) -> str:
    """The released caption for a ``Discrete(81)`` action id: prefix, movement, rotation, speed.

    Pass ``speed=None`` to leave the speed sentence out.
    """
    movement, rotation = split_action(action)
    parts = [CAPTION_PREFIX, movement.sentence, rotation.sentence]
    if speed is not None:
        parts.append(speed.text(movement, rotation))
    return " ".join(parts)


def describe_action(action: int) -> str:
    """A short human label, e.g. "W+A ←" or "none"."""
    movement, rotation = split_action(action)
    labels = [x for x in (movement.keys, rotation.arrows) if x != "none"]
    return " ".join(labels) if labels else "none"

"""The camera: its pose, how each of the 81 actions moves it per frame, and what blocks it.

A pose is ``(x, z, yaw, pitch)``: position on the ground in metres, yaw in radians (0 looks
along +z, positive turns right), pitch in radians (positive looks up, limited to
+-:data:`PITCH_LIMIT`). While an action is held, every frame the camera first turns by the
rotation's rate, then moves by the movement's step in its new heading (diagonal moves are as
fast as straight ones).

Speeds come from the caption's speed suffix (:class:`yume_gym.actions.SpeedSuffix`), so the
motion matches the text the world model reads, with fixed scales per frame:

- ``distance`` d: a movement key moves ``d * 0.025`` m per frame (the default 4 -> 0.1 m,
  1.6 m/s at 16 frames/s);
- ``turn_speed`` s: a pan turns ``s`` degrees per frame (default 2 -> 32 degrees/s);
- ``view_speed`` s: a tilt turns ``s`` degrees per frame.

The camera cannot enter an object: it keeps :data:`CAMERA_RADIUS` metres from pillars, trunks,
boxes and walls, sliding along them when it can.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from procworld.scene import SceneObject, periodic_offset
from yume_gym.actions import DEFAULT_SPEED, SpeedSuffix, split_action

METRES_PER_DISTANCE = 0.025
DEGREES_PER_TURN = 1.0
PITCH_LIMIT = math.radians(35.0)
CAMERA_RADIUS = 0.3


@dataclass(frozen=True)
class Motion:
    """Per-frame step (metres), yaw rate and pitch rate (radians) of held keys."""

    step: float
    yaw_rate: float
    pitch_rate: float

    @classmethod
    def from_speed(cls, speed: SpeedSuffix | None = None) -> Motion:
        """The motion that the speed suffix ``speed`` describes (default: the released default)."""
        speed = DEFAULT_SPEED if speed is None else speed
        if not isinstance(speed, SpeedSuffix):
            raise TypeError(f"speed must be a yume_gym.actions.SpeedSuffix, got {type(speed).__name__}")
        for name in ("distance", "turn_speed", "view_speed"):
            value = getattr(speed, name)
            if not (isinstance(value, (int, float)) and 0 <= value <= 50):
                raise ValueError(f"speed.{name} = {value!r} must be a number in 0..50 (0.1-10 is sensible)")
        degrees = math.radians(DEGREES_PER_TURN)
        return cls(speed.distance * METRES_PER_DISTANCE, speed.turn_speed * degrees, speed.view_speed * degrees)


class Footprints:
    """The ground footprints of objects, for collision tests against the camera."""

    def __init__(self, objects: list[SceneObject] | tuple[SceneObject, ...]) -> None:
        self.x = np.array([o.x for o in objects], dtype=np.float64)
        self.z = np.array([o.z for o in objects], dtype=np.float64)
        self.round = np.array([o.kind in ("pillar", "tree") for o in objects], dtype=bool)
        self.radius = np.array([o.blocking_radius for o in objects], dtype=np.float64) + CAMERA_RADIUS
        self.cos = np.array([math.cos(o.angle) for o in objects])
        self.sin = np.array([math.sin(o.angle) for o in objects])
        self.half_x = np.array([o.half_x for o in objects]) + CAMERA_RADIUS
        self.half_z = np.array([o.half_z for o in objects]) + CAMERA_RADIUS

    def blocked(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """For points (n,), whether each lies inside any object's footprint (plus the camera radius)."""
        dx = periodic_offset(np.asarray(x, dtype=np.float64)[:, None], self.x[None, :])  # (n, K) point - object
        dz = periodic_offset(np.asarray(z, dtype=np.float64)[:, None], self.z[None, :])
        in_circle = dx * dx + dz * dz < self.radius * self.radius
        along, across = dx * self.cos + dz * self.sin, -dx * self.sin + dz * self.cos
        in_box = (np.abs(along) < self.half_x) & (np.abs(across) < self.half_z)
        return np.where(self.round, in_circle, in_box).any(axis=1)


def walk(
    pose: np.ndarray, action_ids: np.ndarray, motion: Motion, footprints: Footprints | None = None
) -> np.ndarray:
    """The poses (n, 4) after each of ``n`` frames with the given action ids, from ``pose`` (4,)."""
    moves = [split_action(int(a)) for a in action_ids]
    path = _free_walk(pose, moves, motion)
    if footprints is None or not footprints.blocked(path[:, 0], path[:, 1]).any():
        return path
    return _blocked_walk(pose, moves, motion, footprints)


def _turn(yaw: float, pitch: float, rotation, motion: Motion) -> tuple[float, float]:
    yaw = (yaw + rotation.yaw * motion.yaw_rate + math.pi) % (2 * math.pi) - math.pi
    pitch = min(PITCH_LIMIT, max(-PITCH_LIMIT, pitch + rotation.pitch * motion.pitch_rate))
    return yaw, pitch


def _step(yaw: float, movement, motion: Motion) -> tuple[float, float]:
    norm = math.hypot(movement.forward, movement.right)
    if norm == 0:
        return 0.0, 0.0
    fwd, right = movement.forward * motion.step / norm, movement.right * motion.step / norm
    s, c = math.sin(yaw), math.cos(yaw)
    return fwd * s + right * c, fwd * c - right * s


def _free_walk(pose: np.ndarray, moves, motion: Motion) -> np.ndarray:
    x, z, yaw, pitch = (float(v) for v in pose)
    out = np.empty((len(moves), 4))
    for i, (movement, rotation) in enumerate(moves):
        yaw, pitch = _turn(yaw, pitch, rotation, motion)
        dx, dz = _step(yaw, movement, motion)
        x, z = x + dx, z + dz
        out[i] = (x, z, yaw, pitch)
    return out


def _blocked_walk(pose: np.ndarray, moves, motion: Motion, footprints: Footprints) -> np.ndarray:
    x, z, yaw, pitch = (float(v) for v in pose)
    out = np.empty((len(moves), 4))
    for i, (movement, rotation) in enumerate(moves):
        yaw, pitch = _turn(yaw, pitch, rotation, motion)
        dx, dz = _step(yaw, movement, motion)
        if dx or dz:
            tries = np.array([(x + dx, z + dz), (x + dx, z), (x, z + dz)])
            free = ~footprints.blocked(tries[:, 0], tries[:, 1])
            if free.any():
                x, z = (float(v) for v in tries[int(np.argmax(free))])
        out[i] = (x, z, yaw, pitch)
    return out

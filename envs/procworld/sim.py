"""One running procedural world: a scene, the camera, the weather, events, and the true state.

:class:`ProcWorld` is the simulator behind the Gymnasium env and the dataset writer. It counts
frames from 0; :meth:`ProcWorld.advance` renders one frame per action id (the camera moves, then
the frame is drawn), :meth:`ProcWorld.trigger` starts an event at the next frame to be drawn.
Everything is a pure function of the scene, the speed and the sequence of calls, so the same
calls give the same frames, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from procworld.atmosphere import Atmosphere, lighting
from procworld.camera import Footprints, Motion, walk
from procworld.events import Event, parse_event
from procworld.render import HFOV_DEGREES, Renderer
from procworld.scene import TILE, VIEW_DISTANCE, Scene, SceneObject, is_free, make_object
from procworld.solids import SolidTable, world_positions
from yume_gym.actions import SpeedSuffix

SPAWN_DISTANCES = np.arange(4.0, 9.01, 0.5)  # metres ahead where an appearing object may stand


class ProcWorld:
    """A world in motion (see the module doc).

    ``size`` is (height, width) of the frames, ``speed`` the caption speed suffix that sets
    the camera's speeds (:mod:`procworld.camera`), ``ramp_frames`` how many frames an event
    takes to come in fully.
    """

    def __init__(
        self, scene: Scene, size: tuple[int, int] = (64, 64), speed: SpeedSuffix | None = None, ramp_frames: int = 16
    ) -> None:
        self.scene = scene
        self.renderer = Renderer(scene, *size)
        self.motion = Motion.from_speed(speed)
        self.atmosphere = Atmosphere(scene.spec.sky, ramp_frames)
        self.ramp_frames = int(ramp_frames)
        self.objects: list[SceneObject] = list(scene.objects)
        self.spawn_frames: list[int] = [-10**9] * len(self.objects)  # frame each object began to rise
        self.pose = np.zeros(4)  # (x, z, yaw, pitch)
        self.frame = 0  # index of the next frame to draw
        self.events: list[tuple[int, str]] = []  # (frame, canonical text) of every triggered event
        self._rebuild()

    def _rebuild(self) -> None:
        self.solids = SolidTable(self.objects)
        self.footprints = Footprints(self.objects)

    # ----------------------------------------------------------------------------- dynamics
    def advance(
        self, action_ids: Sequence[int] | np.ndarray, with_ids: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Draw one frame per action id (each a ``Discrete(81)`` id).

        Returns frames (n, H, W, 3) uint8, poses (n, 4) float64 and, with ``with_ids``, the
        object index seen at each pixel of the last frame, (H, W) int16 (-1: ground or sky).
        """
        ids = np.asarray(action_ids).reshape(-1)
        if ids.size == 0:
            raise ValueError("advance() needs at least one action id")
        poses = walk(self.pose, ids, self.motion, self.footprints)
        frames, pixel_ids = self.render(poses, np.arange(self.frame, self.frame + len(ids)), with_ids)
        self.pose = poses[-1].copy()
        self.frame += len(ids)
        return frames, poses, None if pixel_ids is None else pixel_ids[-1]

    def render(
        self, poses: np.ndarray, frames: np.ndarray, with_ids: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Draw the world at ``poses`` (n, 4) and frame indices ``frames`` (n,) without moving."""
        light = lighting(self.atmosphere.values(frames), self.scene.sun_azimuth)
        return self.renderer.render(poses, light, self.solids, self.rise(frames), frames, with_ids)

    def rise(self, frames: np.ndarray) -> np.ndarray:
        """(n, objects) height fraction of every object at the given frames (1: fully there)."""
        start = np.asarray(self.spawn_frames, dtype=np.float64)[None, :]
        p = np.clip((np.asarray(frames, dtype=np.float64)[:, None] - start + 1) / self.ramp_frames, 0.0, 1.0)
        return (p * p * (3 - 2 * p)).astype(np.float32)

    def trigger(self, event: Event | str) -> Event:
        """Start ``event`` (an :class:`Event` or its text) at the next frame; returns the Event."""
        if isinstance(event, str):
            event = parse_event(event)
        if not isinstance(event, Event):
            raise TypeError(f"trigger() takes an event text or Event, got {type(event).__name__}")
        self.atmosphere.change(event.changes, self.frame)
        for colour, kind in event.spawns:
            self._spawn(colour, kind)
        self.events.append((self.frame, event.text))
        return event

    def _spawn(self, colour: str, kind: str) -> None:
        """Raise a new object in front of the camera, at the nearest free spot 4-9 m ahead."""
        rng = np.random.default_rng([self.scene.seed, len(self.objects), 0xA99])
        x, z, yaw = self.pose[:3]
        side = float(rng.uniform(-0.8, 0.8))
        for ahead in SPAWN_DISTANCES:
            px = x + ahead * math.sin(yaw) + side * math.cos(yaw)
            pz = z + ahead * math.cos(yaw) - side * math.sin(yaw)
            obj = make_object(rng, colour, kind, px % TILE, pz % TILE)
            clear_of_camera = math.hypot(px - x, pz - z) > obj.radius + 1.0
            if clear_of_camera and is_free(obj.x, obj.z, obj.radius + 0.3, self.objects):
                break
        self.objects.append(obj)  # the farthest spot if none was free: overlapping is better than missing
        self.spawn_frames.append(self.frame)
        self._rebuild()

    # --------------------------------------------------------------------------- true state
    def object_states(self, pixel_ids: np.ndarray | None = None) -> list[dict[str, Any]]:
        """The true state of every object for the camera's current pose.

        Each entry: ``index``, ``kind``, ``colour``, ``x``, ``z`` (the copy nearest to the camera;
        the layout repeats every ``TILE`` metres), ``height`` (as risen now), ``radius``,
        ``distance`` (metres from the camera on the ground), ``bearing`` (radians from the view
        direction, positive to the right), ``in_view`` (inside the field of view and the view
        distance; occlusion not considered) and, when ``pixel_ids`` is given, ``pixels`` (how
        many pixels of that frame show it).
        """
        x, z, yaw = self.pose[:3]
        pos = world_positions(self.objects, x, z)
        rise = self.rise(np.array([self.frame - 1]))[0]
        counts = None
        if pixel_ids is not None:
            counts = np.bincount(pixel_ids[pixel_ids >= 0].ravel(), minlength=len(self.objects))
        states = []
        for i, obj in enumerate(self.objects):
            dx, dz = pos[i, 0] - x, pos[i, 1] - z
            distance = math.hypot(dx, dz)
            bearing = (math.atan2(dx, dz) - yaw + math.pi) % (2 * math.pi) - math.pi
            half_width = math.atan2(obj.radius, max(distance, 1e-6))  # angle the object spans, each side
            in_view = abs(bearing) < math.radians(HFOV_DEGREES) / 2 + half_width
            state = {
                "index": i, "kind": obj.kind, "colour": obj.colour, "x": float(pos[i, 0]), "z": float(pos[i, 1]),
                "height": float(obj.height * rise[i]), "radius": float(obj.radius), "distance": float(distance),
                "bearing": float(bearing), "in_view": bool(in_view and distance - obj.radius < VIEW_DISTANCE),
            }  # fmt: skip
            if counts is not None:
                state["pixels"] = int(counts[i])
            states.append(state)
        return states

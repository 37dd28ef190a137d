"""Objects as solids: pillars and trunks are cylinders, boxes and walls are boxes, crowns cones.

:class:`SolidTable` lays a list of :class:`~procworld.scene.SceneObject` out as arrays, one
entry per solid (a tree is two: trunk and crown), and :meth:`SolidTable.cast` finds, for a
batch of camera poses, where every solid in view meets every column's ray. Each solid keeps the
index of its object (``owner``), so pixels can be traced back to objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from procworld.raycast import hit_boxes, hit_cones, hit_cylinders, to_camera
from procworld.scene import VIEW_DISTANCE, SceneObject, periodic_offset

TRUNK_RGB = (96, 66, 42)
CYLINDER, BOX, CONE = 0, 1, 2


@dataclass(frozen=True)
class ColumnHits:
    """Where the solids in view meet each column's ray; arrays (F, W, P) for P solids.

    ``depth`` is the camera depth of the front surface (inf: no hit); ``top_depth`` the depth
    at which the solid's top is seen in this column; ``far`` the depth where the ray leaves
    the solid (for the lid of a solid lower than the eye; inf for cones); ``top`` and
    ``bottom`` the heights of the solid in this column (metres); ``light`` the facing term of
    the sun on the surface; ``rgb`` (P, 3) and ``owner`` (P,) per solid.
    """

    depth: np.ndarray
    top_depth: np.ndarray
    far: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    light: np.ndarray
    rgb: np.ndarray
    owner: np.ndarray


class SolidTable:
    """The solids of a list of objects, as arrays (see the module doc)."""

    def __init__(self, objects: tuple[SceneObject, ...] | list[SceneObject]) -> None:
        rows = []  # (shape, owner, x, z, cos, sin, half_x, half_z, bottom, top, r, g, b)
        for i, o in enumerate(objects):
            c, s = math.cos(o.angle), math.sin(o.angle)
            if o.kind == "tree":
                rows.append((CYLINDER, i, o.x, o.z, 1, 0, 0.16 * o.half_x, 0, 0.0, 0.45 * o.height, *TRUNK_RGB))
                rows.append((CONE, i, o.x, o.z, 1, 0, o.half_x, 0, 0.28 * o.height, o.height, *o.rgb))
            else:
                shape = CYLINDER if o.kind == "pillar" else BOX
                rows.append((shape, i, o.x, o.z, c, s, o.half_x, o.half_z, 0.0, o.height, *o.rgb))
        table = np.asarray(rows, dtype=np.float64).reshape(-1, 13)
        self.shape = table[:, 0].astype(np.int64)
        self.owner = table[:, 1].astype(np.int64)
        self.x, self.z, self.cos, self.sin = table[:, 2], table[:, 3], table[:, 4], table[:, 5]
        self.half_x, self.half_z = table[:, 6], table[:, 7]
        self.bottom, self.top = table[:, 8], table[:, 9]
        self.rgb = table[:, 10:13].astype(np.float32)
        self.reach = np.maximum(self.half_x, self.half_z) * np.where(self.shape == BOX, math.sqrt(2), 1.0)
        self.num_objects = len(objects)

    def __len__(self) -> int:
        return len(self.shape)

    def cast(
        self, u: np.ndarray, poses: np.ndarray, rise: np.ndarray, sun_dir: np.ndarray, tan_half_fov: float
    ) -> ColumnHits | None:
        """Cast the column rays ``u`` (W,) of every pose (F, 4) = (x, z, yaw, pitch) in metres and
        radians. ``rise`` (F, num_objects) scales each object's height (0: not there yet);
        ``sun_dir`` (F, 3) is the unit vector toward the sun in world (x, y, z).
        Returns None when no solid is in view in any frame."""
        if not len(self):
            return None
        yaw = poses[:, 2]
        dx = periodic_offset(self.x[None, :], poses[:, :1])  # (F, P): nearest copy of each solid
        dz = periodic_offset(self.z[None, :], poses[:, 1:2])
        xc, zc = to_camera(dx, dz, yaw)  # (F, P)
        seen = (zc + self.reach > 0.05) & (zc - self.reach < VIEW_DISTANCE)
        seen &= np.abs(xc) < (zc + self.reach) * tan_half_fov + self.reach
        keep = np.flatnonzero(seen.any(axis=0) & (rise[:, self.owner] > 0).any(axis=0))
        if keep.size == 0:
            return None
        sx, sz = to_camera(sun_dir[:, :1], sun_dir[:, 2:], yaw)  # (F, 1) sun in camera space
        sun = np.concatenate([sx, sz, sun_dir[:, 1:2]], axis=1).astype(np.float32)  # (F, 3): right, forward, up
        parts = [self._cast_shape(shape, keep, u, xc, zc, yaw, sun) for shape in (CYLINDER, BOX, CONE)]
        idx = np.concatenate([p[0] for p in parts])
        depth, top_depth, far, reach, light = (np.concatenate([p[1][k] for p in parts], axis=2) for k in range(5))
        scale = rise[:, self.owner[idx]][:, None, :]  # (F, 1, P)
        bottom = (self.bottom[idx] * scale).astype(np.float32)
        top = bottom + (self.top[idx] - self.bottom[idx]) * scale * reach
        return ColumnHits(depth, top_depth, far, top.astype(np.float32), np.broadcast_to(bottom, depth.shape),
                          light, self.rgb[idx], self.owner[idx])  # fmt: skip

    def _cast_shape(self, shape, keep, u, xc, zc, yaw, sun):
        idx = keep[self.shape[keep] == shape]
        F, W = len(yaw), len(u)
        if idx.size == 0:
            empty = np.zeros((F, W, 0), dtype=np.float32)
            return idx, (empty,) * 5
        x, z = xc[:, idx].astype(np.float32), zc[:, idx].astype(np.float32)
        u = u.astype(np.float32)
        if shape == CYLINDER:
            near, far, light = hit_cylinders(u, x, z, self.half_x[idx].astype(np.float32), sun)
            return idx, (near, near, far, np.ones_like(near), light)
        if shape == BOX:
            ax, az = to_camera(self.cos[None, idx], self.sin[None, idx], yaw)  # (F, K) box x axis in camera space
            axes = (ax.astype(np.float32), az.astype(np.float32))
            half_x, half_z = self.half_x[idx].astype(np.float32), self.half_z[idx].astype(np.float32)
            near, far, light = hit_boxes(u, x, z, axes, half_x, half_z, sun)
            return idx, (near, near, far, np.ones_like(near), light)
        front, axis_depth, reach, light = hit_cones(u, x, z, self.half_x[idx].astype(np.float32), sun)
        slope_light = 0.8 * light + 0.45 * sun[:, None, None, 2]  # crowns also face the sky
        return idx, (front, axis_depth, np.full_like(front, np.inf), reach, slope_light)


def world_positions(objects, x: float, z: float) -> np.ndarray:
    """(K, 2) positions of the copies of ``objects`` nearest to (x, z), in world coordinates."""
    if not objects:
        return np.zeros((0, 2))
    pos = np.array([(o.x, o.z) for o in objects], dtype=np.float64)
    return np.stack([x + periodic_offset(pos[:, 0], x), z + periodic_offset(pos[:, 1], z)], axis=1)


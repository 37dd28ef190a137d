"""Ray casting of the world's solids, one ray per image column and frame.

The camera pitches by shearing the image (the horizon slides up and down), so every solid here
stands upright and one horizontal ray per column decides where it is in that column: its depth
and its vertical extent follow from the solid's height. Rays are in camera space: x right,
z forward, the ray of column ``u`` (tangent of its angle) is ``t * (u, 1)``, so ``t`` is the
camera depth of the hit.

Three solids make every object kind:

- upright cylinders (pillars, tree trunks): :func:`hit_cylinders`;
- upright boxes of any turn (boxes, walls): :func:`hit_boxes`;
- upright cones (tree crowns): :func:`hit_cones`.

Each function takes ``u`` (W,) and per-frame camera-space centres ``xc``, ``zc`` (F, K), and
returns arrays shaped (F, W, K) with ``inf`` depth where the ray misses, plus ``facing``: the
dot product of the surface normal with the sun direction ``sun`` (F, 3: right, forward, up; only
the horizontal part counts for these upright surfaces) in camera space, clipped at 0.
"""

from __future__ import annotations

import numpy as np

NEAR = 0.05  # hits closer than this (metres of depth) are not drawn

Hit = tuple[np.ndarray, np.ndarray, np.ndarray]


def to_camera(dx: np.ndarray, dz: np.ndarray, yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World offsets (F, K) from the camera into camera space (right, forward), for yaws (F,)."""
    c, s = np.cos(yaw)[:, None], np.sin(yaw)[:, None]  # (F, 1)
    return dx * c - dz * s, dx * s + dz * c


def hit_cylinders(u: np.ndarray, xc: np.ndarray, zc: np.ndarray, radius: np.ndarray, sun: np.ndarray) -> Hit:
    """Upright cylinders of ``radius`` (K,) at (xc, zc): (t_near, t_far, facing), each (F, W, K)."""
    uu = u[None, :, None]  # (1, W, 1)
    a = 1.0 + uu * uu
    b = uu * xc[:, None, :] + zc[:, None, :]  # (F, W, K)
    c = (xc * xc + zc * zc - radius * radius)[:, None, :]  # (F, 1, K)
    disc = b * b - a * c
    hit = disc > 0
    root = np.sqrt(np.where(hit, disc, 0.0))
    t_near = np.where(hit, (b - root) / a, np.inf)
    t_far = np.where(hit, (b + root) / a, np.inf)
    t_hit = np.where(hit, t_near, 0.0)
    nx = (uu * t_hit - xc[:, None, :]) / radius  # (F, W, K) unit normal where hit
    nz = (t_hit - zc[:, None, :]) / radius
    facing = _facing(nx, nz, sun, hit)
    return _in_front(t_near), t_far, facing


def hit_boxes(
    u: np.ndarray, xc: np.ndarray, zc: np.ndarray, axis_x: tuple[np.ndarray, np.ndarray],
    half_x: np.ndarray, half_z: np.ndarray, sun: np.ndarray,
) -> Hit:  # fmt: skip
    """Upright boxes centred at (xc, zc) whose own x axis is the unit vector ``axis_x`` (two
    (F, K) arrays, camera space) with half extents ``half_x``, ``half_z`` (K,)."""
    ax, az = axis_x
    bx, bz = -az, ax  # the box's own z axis, a quarter turn from its x axis
    uu = u[None, :, None]  # (1, W, 1)
    t_lo, t_hi, normal = [], [], []
    for (px, pz), half in (((ax, az), half_x), ((bx, bz), half_z)):
        centre = (xc * px + zc * pz)[:, None, :]  # (F, 1, K) box centre along this axis
        rate = uu * px[:, None, :] + pz[:, None, :]  # (F, W, K) ray progress along this axis per t
        rate = np.where(np.abs(rate) < 1e-9, 1e-9, rate)
        t1, t2 = (centre - half) / rate, (centre + half) / rate
        t_lo.append(np.minimum(t1, t2))
        t_hi.append(np.maximum(t1, t2))
        sign = -np.sign(rate)  # the face the ray enters faces back along the ray
        normal.append((sign * px[:, None, :], sign * pz[:, None, :]))
    t_near, t_far = np.maximum(*t_lo), np.minimum(*t_hi)
    hit = t_near < t_far
    x_face = t_lo[0] >= t_lo[1]
    nx = np.where(x_face, normal[0][0], normal[1][0])
    nz = np.where(x_face, normal[0][1], normal[1][1])
    facing = _facing(nx, nz, sun, hit)
    return _in_front(np.where(hit, t_near, np.inf)), np.where(hit, t_far, np.inf), facing


def hit_cones(
    u: np.ndarray, xc: np.ndarray, zc: np.ndarray, radius: np.ndarray, sun: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Upright cones of base ``radius`` (K,) with apex above (xc, zc).

    Returns (t_front, t_axis, reach, facing): the depth where the ray meets the base circle,
    the depth of its closest approach to the axis (where the silhouette's top is), the cone's
    relative height in this column (1 - d/radius for a ray passing at distance d from the
    axis), and the facing term.
    """
    uu = u[None, :, None]  # (1, W, 1)
    a = 1.0 + uu * uu
    b = uu * xc[:, None, :] + zc[:, None, :]  # (F, W, K)
    d2 = np.maximum((xc * xc + zc * zc)[:, None, :] - b * b / a, 0.0)  # squared distance ray-axis
    hit = d2 < radius * radius
    chord = np.sqrt(np.where(hit, radius * radius - d2, 0.0))
    t_front = np.where(hit, (b - chord) / a, np.inf)
    reach = np.where(hit, 1.0 - np.sqrt(d2) / radius, 0.0)
    t_hit = np.where(hit, t_front, 0.0)
    nx = (uu * t_hit - xc[:, None, :]) / radius
    nz = (t_hit - zc[:, None, :]) / radius
    facing = _facing(nx, nz, sun, hit)
    t_axis = np.where(hit, b / a, np.inf)
    return _in_front(t_front), t_axis, reach, facing


def _facing(nx: np.ndarray, nz: np.ndarray, sun: np.ndarray, hit: np.ndarray) -> np.ndarray:
    dot = nx * sun[:, 0, None, None] + nz * sun[:, 1, None, None]
    return np.where(hit, np.maximum(dot, 0.0), 0.0)


def _in_front(t_near: np.ndarray) -> np.ndarray:
    """The near depth, or inf where the solid is behind the camera or around it."""
    return np.where(t_near > NEAR, t_near, np.inf)

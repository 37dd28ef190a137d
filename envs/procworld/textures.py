"""Textures of the procedural world, built once per ground kind (or frame size) and cached.

- Ground: a periodic RGB texture per ground kind covering one tile (``TILE`` metres at
  :data:`TEXELS_PER_METRE`), with :data:`GROUND_LEVELS` pre-blurred levels (box widths 1, 2, 4,
  8, 16 texels) so distant ground is filtered instead of shimmering.
- Sky: cloud density on a cylinder around the camera (azimuth x tangent of elevation).
- Precipitation: screen-space sprite sheets of rain streaks and snow flakes, scrolled per frame.

Ground and sky texels are packed as one uint32 per texel (R, G, B, unused byte), so the
renderer fetches a pixel's colour with a single gather. The textures come from fixed seeds:
they are part of the world, not of a scene; scenes differ by a texture offset.
"""

from __future__ import annotations

import functools

import numpy as np

from procworld.scene import GROUNDS, TILE

TEXELS_PER_METRE = 16
GROUND_TEXELS = int(TILE * TEXELS_PER_METRE)  # 512: one tile, a power of two
GROUND_LEVELS = 5
SKY_COLUMNS = 512  # texels around the full circle of azimuth
SKY_ROWS = 96
SKY_ROWS_PER_TAN = 48.0  # sky texture rows per unit of tan(elevation)


def value_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Periodic value noise in [0, 1]: a random ``cells`` x ``cells`` grid, bilinear to ``size``."""
    grid = rng.random((cells, cells))
    pos = np.arange(size) * cells / size
    i0 = pos.astype(int)
    i1 = (i0 + 1) % cells
    t = pos - i0
    t = t * t * (3 - 2 * t)
    rows = grid[i0] * (1 - t)[:, None] + grid[i1] * t[:, None]  # (size, cells)
    return rows[:, i0] * (1 - t) + rows[:, i1] * t  # (size, size)


def fractal_noise(
    rng: np.random.Generator, size: int, cells: tuple[int, ...], gain: float = 0.55
) -> np.ndarray:
    """A sum of value-noise octaves (coarse to fine), rescaled to [0, 1]."""
    total = sum(gain**i * value_noise(rng, size, c) for i, c in enumerate(cells))
    return (total - total.min()) / (total.max() - total.min())


def _mix(a, b, t: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a + (b - a) * t[..., None]


def ground_rgb(kind: str) -> np.ndarray:
    """The level-0 ground texture of ``kind``: (GROUND_TEXELS, GROUND_TEXELS, 3) float in 0-255.

    Axis 0 is z, axis 1 is x.
    """
    if kind not in GROUNDS:
        raise ValueError(f"unknown ground {kind!r}; expected one of {list(GROUNDS)}")
    rng = np.random.default_rng(GROUNDS.index(kind) + 101)
    n = GROUND_TEXELS
    big, mid, fine = fractal_noise(rng, n, (4, 8)), fractal_noise(rng, n, (32, 64)), rng.random((n, n))
    if kind == "grass":
        rgb = _mix((48, 92, 30), (104, 150, 58), 0.6 * mid + 0.4 * fine)
        return _mix(rgb, (128, 124, 66), np.clip(big * 2.2 - 1.3, 0, 1))
    if kind == "snow":
        rgb = _mix((196, 206, 226), (240, 243, 250), 0.55 * big + 0.3 * mid + 0.15 * fine)
        return _mix(rgb, (255, 255, 255), (fine > 0.985).astype(float))
    if kind == "sand":
        x = np.arange(n)[None, :] / TEXELS_PER_METRE
        ripples = 0.5 + 0.5 * np.sin(2 * np.pi * (x * 1.2 + 3.0 * big))
        return _mix((184, 150, 98), (226, 196, 138), 0.5 * ripples + 0.3 * mid + 0.2 * fine)
    if kind == "stone":
        return _stone(rng, mid, fine)
    rgb = _mix((72, 52, 36), (130, 98, 66), 0.5 * big + 0.35 * mid + 0.15 * fine)  # dirt
    return _mix(rgb, (150, 138, 120), (fine > 0.97).astype(float) * 0.8)


def _stone(rng: np.random.Generator, mid: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """Square paving slabs of 1 m with dark joints and a grey shade per slab."""
    n, per = GROUND_TEXELS, TEXELS_PER_METRE
    slab = rng.uniform(0.0, 1.0, size=(n // per, n // per))
    shade = np.kron(slab, np.ones((per, per)))
    rgb = _mix((128, 126, 122), (182, 178, 170), 0.6 * shade + 0.25 * mid + 0.15 * fine)
    joint = np.zeros((n, n), dtype=bool)
    joint[:: per, :] = True
    joint[:, :: per] = True
    rgb[joint] = (86, 84, 82)
    return rgb


def box_blur(image: np.ndarray, width: int) -> np.ndarray:
    """Periodic box blur of an (N, N, C) image over ``width`` texels along both axes."""
    out = image
    for axis in (0, 1):
        out = sum(np.roll(out, shift, axis=axis) for shift in range(-(width // 2), width - width // 2)) / width
    return out


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """Pack float RGB (..., 3) in 0-255 into uint32 (...,): bytes R, G, B, 0 in memory order."""
    u8 = np.zeros((*rgb.shape[:-1], 4), dtype=np.uint8)
    u8[..., :3] = np.clip(np.rint(rgb), 0, 255)
    return u8.view(np.uint32)[..., 0]


@functools.cache
def ground_table(kind: str) -> np.ndarray:
    """All levels of the ground texture of ``kind``, packed: (GROUND_LEVELS * N * N,) uint32."""
    base = ground_rgb(kind)
    levels = [base if level == 0 else box_blur(base, 2**level) for level in range(GROUND_LEVELS)]
    table = np.concatenate([pack_rgb(lv).reshape(-1) for lv in levels])
    table.flags.writeable = False
    return table


@functools.cache
def world_table(kind: str) -> np.ndarray:
    """The ground levels of ``kind`` followed by the sky: what one gather reads from."""
    table = np.concatenate([ground_table(kind), sky_table()])
    table.flags.writeable = False
    return table


@functools.cache
def sky_table() -> np.ndarray:
    """Cloud density (0-255 in R, G and B alike), packed: (SKY_ROWS * SKY_COLUMNS,) uint32.

    Row k holds elevations with tan(elevation) = k / SKY_ROWS_PER_TAN; column j the azimuth
    2 pi j / SKY_COLUMNS. Clouds thin out toward the horizon, where the fog takes over.
    """
    rng = np.random.default_rng(7)
    noise = fractal_noise(rng, SKY_COLUMNS, (6, 12, 24, 48))[:SKY_ROWS]
    density = np.clip((noise - 0.42) / 0.35, 0, 1) ** 1.5
    tan = np.arange(SKY_ROWS) / SKY_ROWS_PER_TAN
    density = density * np.clip(tan / 0.25, 0, 1)[:, None]
    table = pack_rgb(np.repeat(density[..., None] * 255.0, 3, axis=-1)).reshape(-1)
    table.flags.writeable = False
    return table


@functools.cache
def precipitation_sprites(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Screen-space sprite sheets (2H, 2W) float32 alpha in [0, 1]: (rain streaks, snow flakes).

    Sizes scale with the frame, so every frame size looks alike: a streak is about H/8 long and
    one pixel wide per 64 rows, a flake about a pixel across per 64 rows.
    """
    rng = np.random.default_rng(11)
    hs, ws = 2 * height, 2 * width
    scale = max(1, round(height / 64))
    length = max(4, height // 8)
    n = hs * ws // (11 * length * scale)  # streaks cover ~9 %: a head, `length` rows down, `scale` wide
    y0, x0, alpha = rng.integers(hs, size=n), rng.integers(ws, size=n), rng.uniform(0.35, 0.8, size=n)
    k, dx = np.arange(length)[None, :, None], np.arange(scale)[None, None, :]
    ys = (y0[:, None, None] + k + 0 * dx) % hs  # (n, length, scale)
    xs = (x0[:, None, None] + dx + (0.18 * k).astype(int)) % ws
    values = alpha[:, None, None] * (0.5 + 0.5 * k / length) + 0 * dx
    rain = np.zeros((hs, ws), dtype=np.float32)
    np.maximum.at(rain, (ys.ravel(), xs.ravel()), values.ravel().astype(np.float32))
    n = hs * ws // (70 * scale * scale)  # flakes: squares of `scale` pixels, a third a pixel larger
    y0, x0, alpha = rng.integers(hs, size=n), rng.integers(ws, size=n), rng.uniform(0.6, 1.0, size=n)
    size = scale + (rng.random(n) < 0.3)
    d = np.arange(scale + 1)
    inside = (d[None, :, None] < size[:, None, None]) & (d[None, None, :] < size[:, None, None])  # (n, s, s)
    ys = ((y0[:, None, None] + d[None, :, None]) % hs + 0 * d[None, None, :])[inside]
    xs = ((x0[:, None, None] + d[None, None, :]) % ws + 0 * d[None, :, None])[inside]
    snow = np.zeros((hs, ws), dtype=np.float32)
    snow[ys, xs] = np.broadcast_to(alpha[:, None, None], inside.shape)[inside]
    rain.flags.writeable = False
    snow.flags.writeable = False
    return rain, snow

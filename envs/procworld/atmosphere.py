"""Weather and light: a few numbers per frame that events move smoothly, and the colours they give.

The atmosphere is a set of fields in [0, 1]:

- ``daylight``: 1 at noon, 0.12 at night; ``warmth``: 0 white daylight, 1 a low orange sun;
- ``cloud``: cloud cover; ``fog``: extra fog; ``rain``, ``snow``: falling precipitation;
- ``cover``: snow lying on the ground.

The scene's sky sets the start values. An event moves fields toward new targets over
``ramp_frames`` frames (smoothstep easing; snow cover settles :data:`COVER_SLOWDOWN` times
slower), starting from whatever the field shows at that moment. :func:`lighting` turns the
fields of a batch of frames into sky, fog, sun and ambient colours for the renderer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FIELDS = ("daylight", "warmth", "cloud", "fog", "rain", "snow", "cover")
NIGHT_DAYLIGHT = 0.12
COVER_SLOWDOWN = 3

SKY_START: dict[str, dict[str, float]] = {
    "clear": {"daylight": 1.0, "warmth": 0.0, "cloud": 0.15, "fog": 0.0},
    "overcast": {"daylight": 0.85, "warmth": 0.0, "cloud": 1.0, "fog": 0.15},
    "dusk": {"daylight": 0.7, "warmth": 1.0, "cloud": 0.25, "fog": 0.0},
    "night": {"daylight": NIGHT_DAYLIGHT, "warmth": 0.0, "cloud": 0.2, "fog": 0.0},
}

# Colours (0-255) at the corners of the atmosphere; fields blend between them.
_ZENITH = {"day": (62, 120, 210), "dusk": (70, 58, 120), "grey": (120, 124, 134), "night": (10, 14, 40)}
_HORIZON = {"day": (172, 204, 236), "dusk": (250, 150, 84), "grey": (168, 171, 178), "night": (36, 44, 76)}
_CLOUD = {"day": (246, 246, 250), "dusk": (252, 186, 150), "grey": (128, 130, 138), "night": (34, 36, 52)}
_SUN = {"day": (1.0, 0.97, 0.92), "dusk": (1.0, 0.6, 0.36)}
_AMBIENT = (0.9, 0.94, 1.0)  # sky-blue tint of the shadowed side
_MOON = (0.55, 0.65, 1.0)  # bluish moonlight that lights the night
_MIST = (196, 202, 210)  # the colour of thick fog by day


class Atmosphere:
    """The fields over time: start values plus eased transitions started by events."""

    def __init__(self, sky: str, ramp_frames: int = 16) -> None:
        if sky not in SKY_START:
            raise ValueError(f"unknown sky {sky!r}; expected one of {list(SKY_START)}")
        if isinstance(ramp_frames, bool) or not isinstance(ramp_frames, (int, np.integer)) or ramp_frames < 1:
            raise ValueError(f"ramp_frames {ramp_frames!r} must be an integer >= 1")
        start = {f: 0.0 for f in FIELDS} | SKY_START[sky]
        self.ramp_frames = int(ramp_frames)
        # field -> (start frame, value before, target, ramp length)
        self._tracks = {f: (0, start[f], start[f], 1) for f in FIELDS}

    def values(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        """Every field at the given frame indices, as float32 arrays shaped like ``frames``."""
        frames = np.asarray(frames)
        return {f: self._value(f, frames) for f in FIELDS}

    def _value(self, field: str, frames: np.ndarray) -> np.ndarray:
        start, before, target, ramp = self._tracks[field]
        p = np.clip((frames - start + 1) / ramp, 0.0, 1.0)
        p = p * p * (3 - 2 * p)
        return (before + (target - before) * p).astype(np.float32)

    def change(self, changes: tuple[tuple[str, str, float], ...], frame: int) -> None:
        """Start moving fields toward new targets from ``frame`` on.

        Each change is (field, op, value): op "set" makes ``value`` the target, "max" raises the
        target to at least ``value``, "min" lowers it to at most ``value``.
        """
        for field, op, value in changes:
            if field not in FIELDS or op not in ("set", "max", "min"):
                raise ValueError(
                    f"bad atmosphere change {(field, op, value)!r}; fields {FIELDS}, ops set/max/min"
                )
            _, _, target, _ = self._tracks[field]
            new = value if op == "set" else (max if op == "max" else min)(target, value)
            now = float(self._value(field, np.asarray(frame - 1)))
            ramp = self.ramp_frames * (COVER_SLOWDOWN if field == "cover" else 1)
            self._tracks[field] = (frame, now, float(new), ramp)


@dataclass(frozen=True)
class Lighting:
    """Per-frame colours for the renderer; every array has the batch's frames first.

    ``zenith``, ``horizon``, ``cloud``, ``fog_colour`` (F, 3) in 0-255; ``sun`` and ``ambient``
    (F, 3) light multipliers; ``sun_dir`` (F, 3) unit vector toward the sun (x, y, z);
    ``fog_density`` (F,) per metre; plus the fields ``cover``, ``rain``, ``snow`` (F,).
    """

    zenith: np.ndarray
    horizon: np.ndarray
    cloud: np.ndarray
    fog_colour: np.ndarray
    sun: np.ndarray
    ambient: np.ndarray
    sun_dir: np.ndarray
    fog_density: np.ndarray
    cover: np.ndarray
    rain: np.ndarray
    snow: np.ndarray


def lighting(v: dict[str, np.ndarray], sun_azimuth: float) -> Lighting:
    """Colours of a batch of frames from their field values (``Atmosphere.values``)."""
    warm, cloud = v["warmth"][:, None], v["cloud"][:, None]  # (F, 1)
    night = np.clip((1 - v["daylight"]) / (1 - NIGHT_DAYLIGHT), 0, 1)[:, None]  # (F, 1)
    wet = np.maximum(v["rain"], 0.5 * v["snow"])[:, None]

    def blend(table: dict[str, tuple], grey: float) -> np.ndarray:
        c = _lerp(table["day"], table["dusk"], warm)
        c = _lerp(c, table["grey"], np.minimum(1.0, grey * cloud + 0.5 * wet))
        return _lerp(c, table["night"], night).astype(np.float32)  # (F, 3)

    zenith, horizon, cloud_rgb = blend(_ZENITH, 0.8), blend(_HORIZON, 0.8), blend(_CLOUD, 1.0)
    mist = _lerp(_MIST, _HORIZON["night"], night)  # (F, 3) fog veils the sky too
    veil = 0.85 * v["fog"][:, None]
    zenith, horizon, cloud_rgb = (_lerp(c, mist, veil).astype(np.float32) for c in (zenith, horizon, cloud_rgb))
    elevation = np.radians(55.0 - 45.0 * v["warmth"])  # (F,)
    level = (1 - 0.45 * night) * (1 - 0.35 * v["rain"][:, None])  # rain darkens, snow keeps it bright
    sun = _lerp(_SUN["day"], _SUN["dusk"], warm) * (0.55 * level * (1 - 0.7 * cloud) * (1 - 0.8 * night))
    ambient = _lerp(_AMBIENT, _MOON, night) * (level * (0.6 + 0.2 * cloud))
    flat = np.cos(elevation)  # (F,) horizontal length of the unit vector toward the sun
    sun_dir = np.stack([flat * math.sin(sun_azimuth), np.sin(elevation), flat * math.cos(sun_azimuth)], axis=1)
    fog_density = 0.03 + 0.3 * v["fog"] + 0.05 * wet[:, 0]
    return Lighting(
        zenith=zenith, horizon=horizon, cloud=cloud_rgb, fog_colour=horizon.copy(),
        sun=sun.astype(np.float32), ambient=ambient.astype(np.float32), sun_dir=sun_dir.astype(np.float32),
        fog_density=fog_density.astype(np.float32), cover=v["cover"], rain=v["rain"], snow=v["snow"],
    )  # fmt: skip


def _lerp(a, b, t) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    return a + (b - a) * t

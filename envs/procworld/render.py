"""The first-person renderer: a batch of camera poses in, a batch of RGB frames out (numpy).

Camera: eye height :data:`EYE_HEIGHT` m, horizontal field of view :data:`HFOV_DEGREES`, square
pixels. The camera pitches by shearing the image: the horizon row moves by ``focal *
tan(pitch)`` and upright edges stay upright, as in classic first-person ray casters.

A frame is drawn in three passes, each vectorised over all frames of the batch:

1. background: every pixel below the horizon looks up the ground texture where its ray meets
   the ground (the mip level chosen per row by the texel footprint); every pixel above it the
   cloud texture at its azimuth and elevation. One gather fetches both, then a per-row affine
   map applies sun, ambient light, snow cover, fog and the sky's colour gradient;
2. solids: one ray per column gives each solid in view a depth and a vertical span (sides and,
   for solids lower than the eye, the lid); the nearest solids of each column are painted far
   to near, so each pixel shows the nearest solid whose span covers it;
3. weather: rain streaks and snow flakes from screen-space sprite sheets, scrolled per frame and
   shifted with the view so they move with the world when the camera turns.

Fog blends by camera depth toward the horizon colour and fades everything out completely at
:data:`~procworld.scene.VIEW_DISTANCE`.
"""

from __future__ import annotations

import math

import numpy as np

from procworld.atmosphere import Lighting
from procworld.scene import TILE, VIEW_DISTANCE, Scene
from procworld.solids import ColumnHits, SolidTable
from procworld.textures import (
    GROUND_LEVELS,
    GROUND_TEXELS,
    SKY_COLUMNS,
    SKY_ROWS,
    SKY_ROWS_PER_TAN,
    TEXELS_PER_METRE,
    pack_rgb,
    precipitation_sprites,
    world_table,
)  # fmt: skip

EYE_HEIGHT = 1.5
HFOV_DEGREES = 75.0
FADE_START = 0.7 * VIEW_DISTANCE
_SNOW_RGB = np.array([242, 245, 252], dtype=np.float32)
_RAIN_RGB = np.array([205, 212, 225], dtype=np.float32)
_MASK = GROUND_TEXELS - 1
_SHIFT = GROUND_TEXELS.bit_length() - 1


class Renderer:
    """Draws a scene from camera poses; see the module doc for the method."""

    def __init__(self, scene: Scene, height: int, width: int) -> None:
        for name, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 8 <= value <= 1024:
                raise ValueError(f"frame {name} {value!r} must be an integer in 8..1024")
        self.scene, self.height, self.width = scene, int(height), int(width)
        self.focal = self.width / 2 / math.tan(math.radians(HFOV_DEGREES) / 2)
        self.tan_half_fov = math.tan(math.radians(HFOV_DEGREES) / 2)
        self.u = ((np.arange(self.width) + 0.5 - self.width / 2) / self.focal).astype(np.float32)
        self.v = ((np.arange(self.height) + 0.5 - self.height / 2) / self.focal).astype(np.float32)
        self.azimuth = np.arctan(self.u).astype(np.float32)
        self.rows = np.arange(self.height, dtype=np.int16)[None, :, None]  # (1, H, 1)
        self.table = world_table(scene.spec.ground)
        self.sky_start = GROUND_LEVELS * GROUND_TEXELS * GROUND_TEXELS
        self.rain, self.snow = precipitation_sprites(self.height, self.width)

    def render(
        self, poses: np.ndarray, light: Lighting, solids: SolidTable, rise: np.ndarray, frames: np.ndarray,
        with_ids: bool = False,
    ) -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
        """Frames (F, H, W, 3) uint8 for poses (F, 4) = (x, z, yaw, pitch).

        ``light`` holds the frames' colours, ``solids`` the objects, ``rise`` (F, objects) their
        height fractions, ``frames`` (F,) the global frame indices (they animate the weather).
        With ``with_ids``, also returns (F, H, W) int16: the index of the object seen at each
        pixel, -1 for ground and sky.
        """
        poses = np.asarray(poses, dtype=np.float64)
        shear = np.tan(poses[:, 3]).astype(np.float32)  # (F,)
        image = self._background(poses, shear, light)  # (3, F, H, W) float32
        hits = solids.cast(self.u, poses, rise, light.sun_dir, self.tan_half_fov)
        ids = np.full(image.shape[1:], -1, dtype=np.int16) if with_ids else None
        if hits is not None:
            self._paint_solids(image, ids, hits, shear, light)
        self._weather(image, poses, shear, light, np.asarray(frames))
        np.clip(image, 0, 255, out=image)
        out = np.empty((*image.shape[1:], 3), dtype=np.uint8)  # (F, H, W, 3)
        for c in range(3):
            np.copyto(out[..., c], image[c], casting="unsafe")
        return out, ids

    # ------------------------------------------------------------------------------ background
    def _background(self, poses: np.ndarray, shear: np.ndarray, light: Lighting) -> np.ndarray:
        F, H, W = len(poses), self.height, self.width
        dv = self.v[None, :] - shear[:, None]  # (F, H): below the horizon where > 0
        ground = dv > 1e-4
        depth = np.where(ground, EYE_HEIGHT / np.where(ground, dv, 1.0), np.inf).astype(np.float32)  # (F, H)
        first = ground.argmax(axis=1) + H * ~ground.any(axis=1)  # (F,) first ground row per frame
        lo, hi = int(first.min()), int(first.max())  # sky above lo in every frame, ground from hi on
        index = np.empty((F, H, W), dtype=np.int32)
        index[:, lo:] = self._ground_index(poses[:, :2], poses[:, 2], depth[:, lo:], ground[:, lo:])
        sky = self._sky_index(poses[:, 2], dv[:, :hi])  # (F, hi, W)
        index[:, :lo] = sky[:, :lo]
        index[:, lo:hi] = np.where(ground[:, lo:hi, None], index[:, lo:hi], sky[:, lo:hi])
        texels = np.take(self.table, index).view(np.uint8).reshape(F, H, W, 4)
        scale, offset = self._row_colours(depth, ground, -dv, light)  # (3, F, H) each
        image = np.empty((3, F, H, W), dtype=np.float32)
        for c in range(3):
            np.multiply(texels[..., c], scale[c][:, :, None], out=image[c])
            image[c] += offset[c][:, :, None]
        return image

    def _ground_index(
        self, position: np.ndarray, yaw: np.ndarray, depth: np.ndarray, ground: np.ndarray
    ) -> np.ndarray:
        """Packed texture index of the ground point under every pixel of the given rows (junk on
        sky rows): position (F, 2), yaw (F,), depth and ground (F, R) of those rows."""
        sin, cos = np.sin(yaw)[:, None], np.cos(yaw)[:, None]  # (F, 1)
        step_x = (sin + self.u[None, :] * cos).astype(np.float32)  # (F, W) world x per metre of depth
        step_z = (cos - self.u[None, :] * sin).astype(np.float32)
        reach = np.where(ground, depth, 0.0).astype(np.float32) * TEXELS_PER_METRE  # (F, R) texels per unit
        ox, oz = self.scene.texture_offset
        origin_x = (((position[:, 0] + ox) % TILE) * TEXELS_PER_METRE + 4 * GROUND_TEXELS).astype(np.float32)
        origin_z = (((position[:, 1] + oz) % TILE) * TEXELS_PER_METRE + 4 * GROUND_TEXELS).astype(np.float32)
        tx = reach[:, :, None] * step_x[:, None, :]  # (F, R, W)
        tx += origin_x[:, None, None]
        tz = reach[:, :, None] * step_z[:, None, :]
        tz += origin_z[:, None, None]
        ix = tx.astype(np.int32)
        ix &= _MASK
        iz = tz.astype(np.int32)
        iz &= _MASK
        iz <<= _SHIFT
        iz |= ix
        # Texels per pixel: across, and (foreshortened) along the ground; the level blurs that many.
        stretch = np.maximum(1.0, 0.5 * reach / (TEXELS_PER_METRE * EYE_HEIGHT))
        footprint = reach * np.float32(1.0 / self.focal) * stretch  # (F, R)
        level = np.clip(np.log2(np.maximum(footprint, 1e-6)) + 0.5, 0, GROUND_LEVELS - 1).astype(np.int32)
        iz += (level * GROUND_TEXELS * GROUND_TEXELS)[:, :, None]
        return iz

    def _sky_index(self, yaw: np.ndarray, dv: np.ndarray) -> np.ndarray:
        """Packed index of the cloud texel above every pixel of the rows of ``dv`` (F, R)."""
        rows = np.clip(-dv * SKY_ROWS_PER_TAN, 0, SKY_ROWS - 1).astype(np.int32)  # (F, R)
        turn = yaw[:, None] / (2 * math.pi) + self.azimuth[None, :] / (2 * math.pi)  # (F, W) in turns
        cols = (np.floor((turn % 1.0) * SKY_COLUMNS).astype(np.int32)) % SKY_COLUMNS
        return (rows * SKY_COLUMNS + self.sky_start)[:, :, None] + cols[:, None, :]

    def _row_colours(self, depth: np.ndarray, ground: np.ndarray, elevation: np.ndarray, light: Lighting):
        """Per-row affine colour maps (scale, offset), each (3, F, H): texel * scale + offset."""
        up = light.sun_dir[:, 1:2]  # (F, 1)
        lit = (light.ambient + light.sun * up) * (1 - 0.25 * light.rain[:, None])  # (F, 3) ground light
        vis = visibility(depth, light.fog_density[:, None])  # (F, H)
        cover = light.cover[:, None]  # (F, 1)
        g_scale = lit.T[:, :, None] * (vis * (1 - cover))[None]  # (3, F, H)
        g_offset = light.fog_colour.T[:, :, None] * (1 - vis)[None]
        g_offset += (lit * _SNOW_RGB).T[:, :, None] * (vis * cover)[None]  # (3, F, H)
        grad = np.clip(elevation * 1.4, 0, 1) ** 0.6  # (F, H)
        sky_rgb = light.horizon.T[:, :, None] + (light.zenith - light.horizon).T[:, :, None] * grad[None]  # (3, F, H)
        s_scale = (light.cloud.T[:, :, None] - sky_rgb) / 255.0
        scale = np.where(ground[None], g_scale, s_scale).astype(np.float32)
        offset = np.where(ground[None], g_offset, sky_rgb).astype(np.float32)
        return scale, offset

    # ---------------------------------------------------------------------------------- solids
    def _paint_solids(
        self, image: np.ndarray, ids: np.ndarray | None, hits: ColumnHits, shear: np.ndarray, light: Lighting
    ) -> None:
        F, H, W = image.shape[1:]
        count = int(np.isfinite(hits.depth).sum(axis=2).max())  # most solids met by one column
        if count == 0:
            return
        order = np.argsort(hits.depth, axis=2, kind="stable")[:, :, :count]  # (F, W, M) nearest first

        def pick(a: np.ndarray) -> np.ndarray:
            return np.take_along_axis(np.broadcast_to(a, hits.depth.shape), order, axis=2)

        depth, top_depth, far = pick(hits.depth), pick(hits.top_depth), pick(hits.far)
        top, bottom, facing = pick(hits.top), pick(hits.bottom), pick(hits.light)
        rgb, owner = hits.rgb[order], hits.owner[order]  # (F, W, M, 3), (F, W, M)
        cy, f = H / 2, self.focal
        horizon = (cy + f * shear)[:, None, None]  # (F, 1, 1) pixel row of the horizon

        def row(height: np.ndarray, d: np.ndarray) -> np.ndarray:
            y = horizon - f * (height - EYE_HEIGHT) / np.where(np.isfinite(d), d, 1e9)
            return np.clip(np.ceil(y - 0.5), 0, H).astype(np.int16)

        r_top, r_bottom = row(top, top_depth), row(bottom, depth)
        r_lid = np.minimum(row(top, far), r_top)  # empty unless the lid is below the eye
        side, lid = self._solid_colours(rgb, depth, facing, light)  # (F, W, M, 3) each
        M = count
        packed = pack_rgb(np.concatenate([side, lid], axis=2)).reshape(-1)  # (F * W * 2M,) one texel per span
        base = ((np.arange(F)[:, None] * W + np.arange(W)[None, :]) * (2 * M)).astype(np.int32)  # (F, W)
        pairs = ((r_lid, r_top, M), (r_top, r_bottom, 0))  # lid rows, then side rows
        spans = [(a[:, :, m], b[:, :, m], m + shift) for m in reversed(range(M)) for a, b, shift in pairs]
        spans = [(a, b, slot) for a, b, slot in spans if (b > a).any()]  # far to near; empty lids dropped
        if not spans:
            return
        r0, r1 = min(int(a[b > a].min()) for a, b, _ in spans), max(int(b.max()) for _, b, _ in spans)
        code = np.full((F, r1 - r0, W), -1, dtype=np.int32)  # rows r0..r1 hold every span
        rows = self.rows[:, r0:r1]
        for start, stop, slot in spans:
            length = np.maximum(stop - start, 0).astype(np.uint16)[:, None, :]  # (F, 1, W)
            inside = (rows - start[:, None, :]).view(np.uint16) < length  # (F, R, W)
            np.copyto(code, (base + slot)[:, None, :], where=inside)
        solid = code >= 0
        texels = np.take(packed, code, mode="clip").view(np.uint8).reshape(*code.shape, 4)
        for c in range(3):
            np.copyto(image[c, :, r0:r1], texels[..., c], where=solid)
        if ids is not None:
            owners = np.concatenate([owner, owner], axis=2).reshape(-1).astype(np.int16)
            np.copyto(ids[:, r0:r1], np.take(owners, code, mode="clip"), where=solid)

    def _solid_colours(self, rgb: np.ndarray, depth: np.ndarray, facing: np.ndarray, light: Lighting):
        """Fogged side and lid colours (F, W, M, 3) of the picked solids."""
        ambient, sun = light.ambient[:, None, None, :], light.sun[:, None, None, :]  # (F, 1, 1, 3)
        up = light.sun_dir[:, None, None, 1:2]
        vis = visibility(depth, light.fog_density[:, None, None])[..., None]  # (F, W, M, 1)
        fog = light.fog_colour[:, None, None, :] * (1 - vis)
        side = rgb * (ambient + sun * facing[..., None]) * vis + fog
        lid = rgb * (ambient + sun * up) * vis + fog
        return side, lid

    # --------------------------------------------------------------------------------- weather
    def _weather(
        self, image: np.ndarray, poses: np.ndarray, shear: np.ndarray, light: Lighting, frames: np.ndarray
    ) -> None:
        glow = (light.ambient + light.sun * light.sun_dir[:, 1:2]).mean(axis=1)  # (F,) brightness of daylight
        f = self.focal
        for amount, sprite, fall, sway, rgb in (
            (light.rain * 0.55, self.rain, self.height / 5.0, 0.0, _RAIN_RGB),
            (light.snow * 0.9, self.snow, self.height / 48.0, self.width / 40.0, _SNOW_RGB),
        ):
            if amount.max() < 0.01:
                continue
            hs, ws = sprite.shape
            dy = np.floor(-frames * fall - shear * f).astype(np.int64)  # (F,) rows: the sheet falls
            dx = np.floor(poses[:, 2] * f + sway * np.sin(frames * 0.15)).astype(np.int64)
            r = (np.arange(self.height)[None, :] + dy[:, None]) % hs  # (F, H)
            c = (np.arange(self.width)[None, :] + dx[:, None]) % ws  # (F, W)
            alpha = np.take(sprite, r[:, :, None] * ws + c[:, None, :])  # (F, H, W)
            alpha *= amount.astype(np.float32)[:, None, None]
            colour = rgb[:, None] * np.clip(glow, 0.15, 1.0)[None, :]  # (3, F)
            for ch in range(3):
                image[ch] += (colour[ch][:, None, None] - image[ch]) * alpha


def visibility(depth: np.ndarray, density: np.ndarray) -> np.ndarray:
    """How much of a surface at camera ``depth`` shows through the fog (1 near, 0 far).

    Exponential fog of ``density`` per metre, times a fade to 0 between :data:`FADE_START` and
    :data:`~procworld.scene.VIEW_DISTANCE`, so the world ends out of sight.
    """
    d = np.minimum(depth, VIEW_DISTANCE)
    fade = np.clip((d - FADE_START) / (VIEW_DISTANCE - FADE_START), 0, 1)
    return (np.exp(-density * d) * (1 - fade * fade * (3 - 2 * fade))).astype(np.float32)

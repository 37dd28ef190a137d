"""Reward functions over generated chunks, and a wrapper that puts them on any env.

A world model has no game score, so tasks are functions of what the agent sees:
``reward_fn(frames, info) -> float`` once per step, plus ``reset(frames)`` for stateful ones.
The built-ins score the chunk's last frame. The protocol and the built-ins: docs/architecture.md.

>>> red = np.zeros((1, 8, 8, 3), np.uint8); red[..., 0] = 230
>>> round(ColourInView("red", region="full")(red, {}), 3)
1.0
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
from PIL import Image

from yume_gym.images import read_image
from yume_gym.env.frames import check_frames, step_frames

# A small palette of named colours (RGB) for ColourInView.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "orange": (240, 140, 30),
    "purple": (140, 60, 180),
    "cyan": (40, 200, 220),
    "magenta": (220, 50, 200),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "grey": (128, 128, 128),
    "brown": (130, 85, 45),
}
MAX_RGB_DISTANCE = math.sqrt(3) * 255  # the distance between black and white
# Named hue ranges (degrees, wrapping through 0) for HueInView, measured on procworld's lit
# objects: its red, yellow and purple stay inside them in sun, shade, overcast and dusk light.
HUES: dict[str, tuple[float, float]] = {
    "red": (340.0, 14.0),
    "yellow": (40.0, 72.0),
    "purple": (258.0, 320.0),
}


@runtime_checkable
class RewardFn(Protocol):
    """A reward function: ``reward_fn(frames (T, H, W, 3) uint8, info) -> float``."""

    def __call__(self, frames: np.ndarray, info: dict[str, Any]) -> float: ...


def resolve_colour(colour: str | tuple[int, int, int]) -> tuple[int, int, int]:
    """An RGB triple from a palette name (see PALETTE) or an (r, g, b) sequence in 0..255."""
    if isinstance(colour, str):
        if colour.lower() not in PALETTE:
            raise ValueError(f"unknown colour name {colour!r}; use one of {sorted(PALETTE)} or an (r, g, b) triple")
        return PALETTE[colour.lower()]
    rgb = tuple(colour) if isinstance(colour, (tuple, list, np.ndarray)) else ()
    if len(rgb) != 3 or not all(isinstance(c, (int, np.integer)) and 0 <= c <= 255 for c in rgb):
        raise ValueError(f"colour {colour!r} must be a palette name or three integers (r, g, b) in 0..255")
    return tuple(int(c) for c in rgb)


@functools.lru_cache(maxsize=8)
def centre_weights(height: int, width: int) -> np.ndarray:
    """(H, W) Gaussian weights centred on the frame, sigma a quarter of each side, summing to 1 (read-only)."""
    y = (np.arange(height) + 0.5) / height - 0.5  # (H,)
    x = (np.arange(width) + 0.5) / width - 0.5  # (W,)
    w = np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * 0.25**2))  # (H, W)
    w /= w.sum()
    w.flags.writeable = False
    return w


class ColourInView:
    """The share of pixels within ``tolerance`` of a colour, in [0, 1].

    A pixel matches when its Euclidean RGB distance to the colour is <= ``tolerance`` (0..441).
    ``region="centre"`` weights pixels by a centred Gaussian (sigma a quarter of the frame), so
    a patch in the middle of the view scores more than the same patch at the edge;
    ``region="full"`` weights all pixels alike.
    """

    def __init__(
        self, colour: str | tuple[int, int, int] = "red", tolerance: float = 80.0, region: str = "centre"
    ) -> None:
        self.colour = resolve_colour(colour)
        if not _is_number(tolerance) or not 0 < tolerance <= MAX_RGB_DISTANCE:
            raise ValueError(f"tolerance {tolerance!r} must be a number in (0, {MAX_RGB_DISTANCE:.0f}] (RGB distance)")
        if region not in ("centre", "full"):
            raise ValueError(f"region {region!r} must be 'centre' or 'full'")
        self.tolerance = float(tolerance)
        self.region = region

    def __call__(self, frames: np.ndarray, info: dict[str, Any]) -> float:
        frame = check_frames(frames)[-1].astype(np.float32)  # (H, W, 3)
        distance = np.linalg.norm(frame - np.asarray(self.colour, np.float32), axis=-1)  # (H, W)
        match = distance <= self.tolerance  # (H, W)
        if self.region == "full":
            return float(match.mean())
        return float((centre_weights(*match.shape) * match).sum())


class HueInView:
    """The share of pixels whose hue lies in a range, in [0, 1]: a colour test that survives lighting.

    A lit object's RGB changes with sun, shade, fog and sky far more than its hue, so this test
    keeps a pixel when its hue (degrees, 0 = red, 120 = green, 240 = blue) is inside ``hue``
    and it is saturated and bright enough to have a hue at all (``min_saturation``,
    ``min_value``, both on the HSV 0..1 scale). ``hue`` is a name from :data:`HUES` or a
    (low, high) range in degrees; a range with low > high wraps through 0, as red does.
    ``region`` weights pixels as :class:`ColourInView` does.
    """

    def __init__(
        self,
        hue: str | tuple[float, float] = "red",
        min_saturation: float = 0.35,
        min_value: float = 0.1,
        region: str = "centre",
    ) -> None:
        self.low, self.high = _resolve_hue(hue)
        if not _is_number(min_saturation) or not 0 < min_saturation < 1:
            raise ValueError(f"min_saturation {min_saturation!r} must be in (0, 1): grey pixels have no hue")
        if not _is_number(min_value) or not 0 <= min_value < 1:
            raise ValueError(f"min_value {min_value!r} must be a number in [0, 1) (the HSV scale)")
        if region not in ("centre", "full"):
            raise ValueError(f"region {region!r} must be 'centre' or 'full'")
        self.min_saturation, self.min_value, self.region = float(min_saturation), float(min_value), region

    def mask(self, frame: np.ndarray) -> np.ndarray:
        """(H, W) bool: the pixels of ``frame`` (H, W, 3) uint8 that have the hue."""
        rgb = frame.astype(np.float32) / 255.0  # (H, W, 3)
        value = rgb.max(axis=-1)  # (H, W)
        spread = value - rgb.min(axis=-1)  # (H, W)
        saturation = np.where(value > 0, spread / np.maximum(value, 1e-6), 0.0)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        safe = np.maximum(spread, 1e-6)
        hue = np.select(
            [value == r, value == g],
            [(g - b) / safe % 6.0, (b - r) / safe + 2.0],
            (r - g) / safe + 4.0,
        ) * 60.0  # (H, W) degrees in [0, 360)
        in_range = (hue >= self.low) & (hue <= self.high) if self.low <= self.high else (
            (hue >= self.low) | (hue <= self.high))  # fmt: skip
        return in_range & (saturation >= self.min_saturation) & (value >= self.min_value)

    def __call__(self, frames: np.ndarray, info: dict[str, Any]) -> float:
        match = self.mask(check_frames(frames)[-1])  # (H, W)
        if self.region == "full":
            return float(match.mean())
        return float((centre_weights(*match.shape) * match).sum())


def _resolve_hue(hue: str | tuple[float, float]) -> tuple[float, float]:
    if isinstance(hue, str):
        if hue.lower() not in HUES:
            raise ValueError(f"unknown hue name {hue!r}; use one of {sorted(HUES)} or a (low, high) range in degrees")
        return HUES[hue.lower()]
    pair = tuple(hue) if isinstance(hue, (tuple, list)) else ()
    if len(pair) != 2 or not all(_is_number(v) and 0 <= v < 360 for v in pair):
        raise ValueError(f"hue {hue!r} must be a name from {sorted(HUES)} or (low, high) degrees in [0, 360)")
    return float(pair[0]), float(pair[1])


def _downsample(frame: np.ndarray, size: int, mode: str) -> np.ndarray:
    """``frame`` (H, W, 3) uint8 box-filtered to (size, size) in ``mode`` ("RGB"/"L"), floats in [0, 1]."""
    image = Image.fromarray(frame).convert(mode).resize((size, size), Image.Resampling.BOX)
    return np.asarray(image, np.float32) / 255.0


def _check_size(size: Any) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size {size!r} must be a positive integer (the side of the downsampled frame)")
    return size


class GoalImageSimilarity:
    """How close the view is to a goal image: 1 - MSE of the two, downsampled, in [0, 1].

    Both images are box-filtered to ``size`` x ``size`` RGB with values in [0, 1] (a goal of
    another aspect ratio is stretched); identical images score 1, black against white 0.
    ``goal_image`` is a file path, a PIL image or an (H, W, 3) uint8 array.
    """

    def __init__(self, goal_image: Any, size: int = 32) -> None:
        self.size = _check_size(size)
        self.goal = _downsample(read_image(goal_image), self.size, "RGB")  # (size, size, 3)

    def __call__(self, frames: np.ndarray, info: dict[str, Any]) -> float:
        view = _downsample(check_frames(frames)[-1], self.size, "RGB")  # (size, size, 3)
        return float(1.0 - np.mean((view - self.goal) ** 2))


class Novelty:
    """An exploration bonus: how far the view is from every earlier view of the episode, up to a
    turn of the camera.

    The embedding of a view is its grey image box-filtered to ``size`` x ``size`` in [0, 1]. The
    reward is the distance to the nearest earlier embedding (1.0 when there is none), in [0, 1]:
    the root-mean-square difference on the two views' overlap, minimised over every shift of up
    to ``max_shift = (columns, rows)`` cells. A turn or a tilt of the camera on the spot shifts
    the view, so looking around from one place scores little once its views are in memory (and
    panning further shows only a strip of new columns), while walking somewhere new changes the
    view everywhere: the bonus pays for new places more than for new headings. The default
    (6, 3) on 16 cells forgives a pan of up to 6/16 of the view's width (30 degrees at the
    centre of ProcWorld's 75-degree view, where one 8-degree turn step shifts the centre 1.5
    cells and the edges 2.1) and a tilt of 3/16 of its height; ``max_shift=(0, 0)`` compares
    whole views only (plain nearest-neighbour novelty, which pays a camera spinning on the spot
    more than a walk). Each scored view joins the memory, which ``reset()`` empties (memory
    grows by size**2 floats per step; a step costs (2 * columns + 1) * (2 * rows + 1)
    comparisons with each view in memory).
    """

    def __init__(self, size: int = 16, max_shift: tuple[int, int] = (6, 3)) -> None:
        self.size = _check_size(size)
        columns, rows = (max_shift if isinstance(max_shift, (tuple, list)) and len(max_shift) == 2
                         else (None, None))  # fmt: skip
        if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= 2 * n < self.size for n in (columns, rows)):
            raise ValueError(
                f"max_shift {max_shift!r} must be (columns, rows), integers from 0 to under half of size {self.size}"
            )
        self.max_shift = (columns, rows)
        self.memory: list[np.ndarray] = []

    def reset(self, frames: np.ndarray | None = None) -> None:
        """Forget the episode; remember the last of ``frames`` (the reset view) if given."""
        self.memory = []
        if frames is not None:
            self.memory.append(self._embed(check_frames(frames)[-1]))

    def __call__(self, frames: np.ndarray, info: dict[str, Any]) -> float:
        embedding = self._embed(check_frames(frames)[-1])  # (size, size)
        reward = self.distance(embedding, np.stack(self.memory)) if self.memory else 1.0
        self.memory.append(embedding)
        return reward

    def distance(self, view: np.ndarray, memory: np.ndarray) -> float:
        """The smallest overlap RMS difference between ``view`` (s, s) and any of ``memory`` (N, s, s)."""
        s, (columns, rows) = self.size, self.max_shift
        best = np.inf
        for dy in range(-rows, rows + 1):
            for dx in range(-columns, columns + 1):
                # the view's content at (y, x) sits at (y + dy, x + dx) in the remembered view
                seen = view[max(-dy, 0) : s - max(dy, 0), max(-dx, 0) : s - max(dx, 0)]  # (s-|dy|, s-|dx|)
                remembered = memory[:, max(dy, 0) : s + min(dy, 0), max(dx, 0) : s + min(dx, 0)]  # (N, s-|dy|, s-|dx|)
                best = min(best, float(np.sqrt(np.mean((remembered - seen) ** 2, axis=(1, 2))).min()))
        return best

    def _embed(self, frame: np.ndarray) -> np.ndarray:
        return _downsample(frame, self.size, "L")  # (size, size)


class ClipTextReward:
    """CLIP cosine similarity, in [-1, 1], between the view and ``text``, with a local model.

    ``model_path`` is a folder saved with ``save_pretrained`` holding a transformers
    ``CLIPModel`` (config.json and weights), its tokenizer files and its image processor's
    ``preprocessor_config.json`` -- a downloaded snapshot of e.g. openai/clip-vit-base-patch32
    has all three. It is read with ``local_files_only=True``: nothing is downloaded. The text
    embedding is computed once; each call embeds the chunk's last frame.
    Needs transformers (a yume-gym dependency), imported only when this class is built.
    """

    def __init__(self, text: str, model_path: str | os.PathLike, device: str = "cpu") -> None:
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text {text!r} must be a non-blank string describing the goal")
        path = Path(model_path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"no CLIP model at {str(path)!r} (no config.json); save one there with "
                f"CLIPModel.save_pretrained, tokenizer.save_pretrained and image_processor.save_pretrained"
            )
        try:
            import torch
            from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel
        except ImportError as err:
            raise ImportError("ClipTextReward needs transformers and torch: pip install transformers torch") from err
        self._torch = torch
        self.text = text
        self.device = torch.device(device)
        self.model = CLIPModel.from_pretrained(path, local_files_only=True).to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.processor = AutoImageProcessor.from_pretrained(path, local_files_only=True)
        tokens = self.tokenizer([text], padding=True, truncation=True, return_tensors="pt").to(self.device)
        with torch.no_grad():
            self.text_embedding = _unit(_features(self.model.get_text_features(**tokens)))  # (1, D)

    def __call__(self, frames: np.ndarray, info: dict[str, Any]) -> float:
        frame = check_frames(frames)[-1]  # (H, W, 3)
        pixels = self.processor(images=[frame], return_tensors="pt")["pixel_values"].to(self.device)  # (1, 3, S, S)
        with self._torch.no_grad():
            image_embedding = _unit(_features(self.model.get_image_features(pixel_values=pixels)))  # (1, D)
        return float((image_embedding * self.text_embedding).sum())


def _features(output: Any) -> Any:
    """Projected CLIP features: transformers 4 returns a tensor, 5 an output with pooler_output."""
    return output if hasattr(output, "ndim") else output.pooler_output


def _unit(x: Any) -> Any:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)  # (B, D)


class RewardWrapper(gym.Wrapper):
    """Reward an env with ``reward_fn(frames, info)``, and optionally end episodes on success.

    ``combine="replace"`` makes the function's value the reward; ``"add"`` adds it to the env's
    reward. With ``terminate_above``, an episode terminates once the function's value is >= it.
    Rewards come back as Python floats and terminated/truncated as Python bools (as
    stable-baselines3 needs); ``info["task_reward"]`` holds the function's value. If
    ``reward_fn`` has ``reset(frames)``, it is called on every reset with the reset's frames.
    """

    def __init__(
        self,
        env: gym.Env,
        reward_fn: RewardFn,
        terminate_above: float | None = None,
        combine: str = "replace",
    ) -> None:
        super().__init__(env)
        if not callable(reward_fn):
            raise TypeError(f"reward_fn must be callable as reward_fn(frames, info) -> float, got {reward_fn!r}")
        if terminate_above is not None and not _is_number(terminate_above):
            raise ValueError(f"terminate_above {terminate_above!r} must be a number or None")
        if combine not in ("replace", "add"):
            raise ValueError(f"combine {combine!r} must be 'replace' or 'add'")
        self.reward_fn = reward_fn
        self.terminate_above = terminate_above
        self.combine = combine

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env and the reward function's episode state."""
        obs, info = self.env.reset(seed=seed, options=options)
        if callable(getattr(self.reward_fn, "reset", None)):
            self.reward_fn.reset(step_frames(obs, info))
        return obs, info

    def step(self, action: Any):
        """Step the env and score its frames."""
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        value = self.reward_fn(step_frames(obs, info), info)
        if not _is_number(value) or not math.isfinite(value):
            raise ValueError(f"reward_fn returned {value!r}; it must return a finite number")
        value = float(value)
        reward = value if self.combine == "replace" else float(env_reward) + value
        if self.terminate_above is not None and value >= self.terminate_above:
            terminated = True
        info = {**info, "task_reward": value}
        return obs, reward, bool(terminated), bool(truncated), info


def _is_number(value: Any) -> bool:
    """A real number (Python or numpy), not a bool."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))

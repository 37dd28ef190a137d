"""Start images: read a path, a PIL image or an array, and fit it to the model's frame size.

Every start image is scaled to cover the target frame and centre-cropped to it, so nothing is
stretched. The fitting rule: docs/architecture.md.

>>> fit_image(np.zeros((40, 80, 3), np.uint8), 16, 16).shape
(16, 16, 3)
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

ImageLike = Any  # str | os.PathLike | PIL.Image.Image | np.ndarray of shape (H, W, 3), uint8
# 40 times the largest released frame (704 x 1280): an 8K photo fits, a decompression bomb does not.
MAX_IMAGE_PIXELS = 40 * 704 * 1280
# 4 times the longer side of the largest released frame: the bound on frame sizes and upscaled views.
MAX_FRAME_SIDE = 4 * 1280


def check_image_size(width: int, height: int, what: str) -> None:
    """Refuse an image with an empty side or more than MAX_IMAGE_PIXELS pixels, before decoding it."""
    if width < 1 or height < 1:
        raise ValueError(f"{what} is {width}x{height} pixels, an empty image; pass a picture with pixels")
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"{what} is {width}x{height} = {width * height:,} pixels, more than the {MAX_IMAGE_PIXELS:,} "
            "allowed (40 frames of 704x1280); scale it down first"
        )


def read_image(image: ImageLike) -> np.ndarray:
    """An RGB ``(H, W, 3)`` uint8 array from a file path, a PIL image or an array.

    Arrays must already be ``(H, W, 3)`` uint8 (convert float images with
    ``(x * 255).round().astype(np.uint8)``).
    """
    if isinstance(image, (str, os.PathLike)):
        return _read_file(Path(image))
    if isinstance(image, Image.Image):
        check_image_size(*image.size, "the PIL image")
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                f"image array has shape {image.shape}; expected (height, width, 3) RGB "
                f"(drop an alpha channel with image[..., :3])"
            )
        if image.dtype != np.uint8:
            raise ValueError(
                f"image array has dtype {image.dtype}; expected uint8 in 0..255 "
                f"(convert with (x * 255).round().astype(np.uint8))"
            )
        check_image_size(image.shape[1], image.shape[0], f"the image array of shape {image.shape}")
        return image
    raise TypeError(
        f"image must be a file path, a PIL image or a (H, W, 3) uint8 numpy array, got {type(image).__name__}"
    )


def _read_file(path: Path) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"no image file at {str(path)!r}; check the path")
    try:
        with warnings.catch_warnings():  # PIL warns of large images; check_image_size refuses them itself
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)  # reads the header only
        with img:
            check_image_size(*img.size, f"the image {str(path)!r}")
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
        raise ValueError(f"cannot read {str(path)!r} as an image ({err}); pass a PNG or JPEG file") from err


def fit_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale ``image`` (H, W, 3) uint8 to cover ``height`` x ``width``, then crop its centre."""
    h, w = image.shape[:2]
    check_image_size(w, h, f"the image of shape {image.shape}")
    if height < 1 or width < 1:
        raise ValueError(f"target size {height}x{width} must be positive")
    scale = max(height / h, width / w)
    new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    if (new_h, new_w) != (h, w):
        image = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.Resampling.LANCZOS))
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return np.array(image[top : top + height, left : left + width], dtype=np.uint8, copy=True)


def prepare_image(image: ImageLike, height: int, width: int) -> np.ndarray:
    """:func:`read_image` then :func:`fit_image`: a ``(height, width, 3)`` uint8 array."""
    return fit_image(read_image(image), height, width)

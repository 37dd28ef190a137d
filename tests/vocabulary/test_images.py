"""Start images are bounded before decoding: bombs and empty images are clear errors, fast."""

import time

import numpy as np
import pytest
from PIL import Image

from yume_gym.images import MAX_IMAGE_PIXELS, fit_image, prepare_image, read_image


def test_a_png_that_expands_to_10000x10000_is_refused_from_its_header(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (10000, 10000)).save(path, optimize=True)  # a few kB on disk, 100 M pixels decoded
    assert path.stat().st_size < 50_000
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"10000x10000 = 100,000,000 pixels, more than the .*scale it down"):
        read_image(path)
    assert time.perf_counter() - started < 1.0


def test_pil_decompression_bomb_error_is_a_clear_value_error(tmp_path, monkeypatch):
    path = tmp_path / "wide.png"
    Image.new("RGB", (300, 300)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # PIL raises past twice its limit
    with pytest.raises(ValueError, match=r"cannot read .*wide.png.* as an image"):
        read_image(path)


def test_empty_and_oversized_images_in_memory_are_refused():
    with pytest.raises(ValueError, match="0x0 pixels, an empty image"):
        read_image(Image.new("RGB", (0, 0)))
    with pytest.raises(ValueError, match="an empty image"):
        prepare_image(np.zeros((0, 0, 3), np.uint8), 16, 16)
    with pytest.raises(ValueError, match="an empty image"):
        fit_image(np.zeros((0, 5, 3), np.uint8), 16, 16)
    side = int(MAX_IMAGE_PIXELS**0.5) + 1
    with pytest.raises(ValueError, match="more than the"):
        read_image(Image.new("L", (side, side)))
    assert prepare_image(np.zeros((9, 30, 3), np.uint8), 8, 8).shape == (8, 8, 3)

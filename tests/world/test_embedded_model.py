"""The shipped embedded model: present, small, loaded by default, and really trained."""

import copy

import numpy as np

from yume_gym.commands.demo import DEFAULT_PROMPT, start_image
from yume_gym.evaluation.metrics import psnr
from yume_gym.world.batch import WorldBatch, WorldStart
from yume_gym.world.bundle import EMBEDDED_DIR, MANIFEST, load_world_model

MAX_BYTES = 25 * 2**20


def test_the_weights_ship_inside_the_package_within_25_mb():
    files = sorted(p.name for p in EMBEDDED_DIR.iterdir())
    assert MANIFEST in files and "generator.safetensors" in files
    assert sum(p.stat().st_size for p in EMBEDDED_DIR.iterdir()) <= MAX_BYTES


def test_the_default_world_model_is_the_trained_embedded_one():
    model = load_world_model()
    assert model.is_trained and model.source == str(EMBEDDED_DIR)
    assert "RANDOM" not in model.describe()
    assert "embedded (yume_gym/weights)" in model.describe()
    assert str(EMBEDDED_DIR) not in model.describe()  # reports read the same wherever the package lives


def test_a_bundle_elsewhere_is_described_by_its_path(tmp_path):
    elsewhere = copy.copy(load_world_model())  # the same weights, another source
    elsewhere.source = str(tmp_path)
    assert elsewhere.display_source == str(tmp_path)


def test_a_world_continues_its_start_image_instead_of_noise():
    model = load_world_model()
    image = start_image(DEFAULT_PROMPT, 0, model.frame_size)
    world = WorldBatch(model, 1)
    world.start([0], [WorldStart(seed=0, image=image, prompt=DEFAULT_PROMPT)])
    frames = world.advance([0], [0]).frames[0]  # standing still: the view should stay
    assert psnr(frames, np.repeat(image[None], len(frames), axis=0)).mean() > 18.0

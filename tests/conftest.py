"""Test-wide settings and the fixtures the layers share.

Tests run torch on one intra-op thread: the suite's models are tiny, and OpenMP's spinning
worker threads slow tests down by orders of magnitude whenever another process shares the
machine's cores.
"""

import functools
import shutil

import pytest
import torch
from release_layout import release_parts, write_release_dir

from yume_gym.world.bundle import build_world_model, save_world_model

torch.set_num_threads(1)

_RELEASE_PARTS = functools.cache(release_parts)  # one set of small released weights per run


@pytest.fixture(scope="session")
def release_native_dir(tmp_path_factory):
    """A small checkpoint directory in the released Wan-native layout (see release_layout.py)."""
    return write_release_dir(tmp_path_factory.mktemp("release") / "native", _RELEASE_PARTS(), "native")


@pytest.fixture(scope="session")
def release_diffusers_dir(tmp_path_factory):
    """The same weights in the diffusers layout: vae/, text_encoder/ and tokenizer/ folders."""
    return write_release_dir(tmp_path_factory.mktemp("release") / "diffusers", _RELEASE_PARTS(), "diffusers")


@pytest.fixture
def broken(tmp_path, release_native_dir):
    """A copy of the native release directory for a test to damage."""
    return shutil.copytree(release_native_dir, tmp_path / "copy")


@pytest.fixture(scope="module")
def model():
    """A small random world model (32x32 frames) whose actions reach the frames; modules that
    need another size define their own ``model``."""
    return build_world_model(frame_size=32, live_head=True)


@pytest.fixture(scope="module")
def bundle(model, tmp_path_factory):
    """``model`` saved as a bundle directory."""
    return str(save_world_model(model, tmp_path_factory.mktemp("world") / "tiny"))

"""``yume-gym export``: a bundle re-saved in float16 is half the size and generates the same world."""

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from yume_gym.commands.export import bundle_bytes, main
from yume_gym.world.batch import WorldBatch, WorldStart
from yume_gym.world.bundle import (
    GENERATOR_FILE,
    MANIFEST,
    build_world_model,
    read_world_model,
    save_world_model,
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    model = build_world_model(frame_size=32, live_head=True)
    return save_world_model(model, tmp_path_factory.mktemp("bundle") / "tiny", note="trained for a test")


def first_chunk(directory) -> np.ndarray:
    world = WorldBatch(read_world_model(directory), 1)
    world.start([0], [WorldStart(seed=3, prompt="a grassy meadow with red pillars under a clear sky")])
    return world.advance([0], [9]).frames[0].astype(np.float32)  # (F, H, W, 3)


def test_float16_export_halves_the_files_and_keeps_the_world(bundle, tmp_path, capsys):
    out = tmp_path / "shipped"
    settings = ["--guidance", "2", "--default-prompt", "a snowy field", "--movement-guidance", "3",
                "--event-guidance", "1.5"]
    assert main(["--model", str(bundle), "--out", str(out), *settings]) == 0
    assert "float16" in capsys.readouterr().out
    with safe_open(str(out / GENERATOR_FILE), "pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F16"}
    assert bundle_bytes(out) < 0.55 * bundle_bytes(bundle)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["note"] == "trained for a test" and manifest["generation"]["guidance"] == 2.0
    assert manifest["generation"]["default_prompt"] == "a snowy field"
    assert (manifest["generation"]["movement_guidance"], manifest["generation"]["event_guidance"]) == (3.0, 1.5)
    assert manifest["generation"]["rotation_guidance"] == 1.0  # left as the bundle had it
    loaded = read_world_model(out)
    assert loaded.dtype == torch.float32  # stored precision only
    main(["--model", str(bundle), "--out", str(tmp_path / "same-settings")])
    difference = np.abs(first_chunk(tmp_path / "same-settings") - first_chunk(bundle))
    assert difference.mean() < 0.5  # of 255 (measured 0.02; another noise seed: 41)


def test_bad_arguments_name_the_fix(bundle, capsys):
    with pytest.raises(SystemExit):
        main(["--model", str(bundle), "--out", str(bundle)])
    with pytest.raises(SystemExit):
        main(["--model", str(bundle), "--out", "x", "--dtype", "int8"])
    with pytest.raises(FileNotFoundError, match=r"no world-model bundle \(--model\) at 'no-such-bundle'"):
        main(["--model", "no-such-bundle", "--out", "x"])  # `yume-gym export` prints it as one line, exit 2

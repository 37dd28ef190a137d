"""Generator checkpoints: released Wan layout, our own format, strictness, clear errors."""

import json

import pytest
import torch
from safetensors.torch import save_file

from yume_gym.model import PRESETS, GeneratorConfig, build_generator, load_generator, save_generator

SMALL = PRESETS["test"]


def randomised(cfg=SMALL, seed=0):
    torch.manual_seed(seed)
    model = build_generator(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)
    return model


def velocity(model):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(1, model.config.in_dim, 2, 6, 8, generator=g)
    context = torch.randn(1, 3, model.config.text_dim, generator=g)
    history = torch.randn(1, model.config.in_dim, 9, 6, 8, generator=g)
    with torch.no_grad():
        return model(x, torch.tensor([600.0]), context, history)


def write_released(directory, model, config_json):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config_json))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / "diffusion_pytorch_model.safetensors"))


RELEASED_STYLE = {  # like the Yume-5B-720P config.json: absent fields take WanModel's defaults
    "_class_name": "WanModel",
    "_diffusers_version": "0.33.0",
    "model_type": "ti2v",
    "dim": 48,
    "eps": 1e-06,
    "ffn_dim": 96,
    "freq_dim": 32,
    "in_dim": 4,
    "num_heads": 2,
    "num_layers": 2,
    "out_dim": 4,
    "text_len": 16,
}


def test_released_layout_loads_and_matches(tmp_path):
    cfg = GeneratorConfig(**{**SMALL.to_dict(), "text_dim": 4096})  # WanModel's default text_dim
    model = randomised(cfg)
    write_released(tmp_path / "Yume-small", model, RELEASED_STYLE)
    loaded = load_generator(tmp_path / "Yume-small")
    assert loaded.config == cfg
    assert loaded.config.channel_branch is False and loaded.config.history_mode == "tscm"
    assert all(p.requires_grad and p.device.type == "cpu" for p in loaded.parameters())
    assert torch.equal(velocity(loaded), velocity(model))
    # the weights file itself, next to its config.json, is read as the directory
    loaded = load_generator(tmp_path / "Yume-small" / "diffusion_pytorch_model.safetensors")
    assert torch.equal(velocity(loaded), velocity(model))


def test_released_layout_in_shards(tmp_path):
    model = randomised()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    names = sorted(state)
    shards = {
        "diffusion_pytorch_model-00001-of-00002.safetensors": names[::2],
        "diffusion_pytorch_model-00002-of-00002.safetensors": names[1::2],
    }
    for file, keys in shards.items():
        save_file({k: state[k] for k in keys}, str(tmp_path / file))
    index = {"weight_map": {k: file for file, keys in shards.items() for k in keys}}
    (tmp_path / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps(index))
    (tmp_path / "config.json").write_text(json.dumps({**RELEASED_STYLE, "text_dim": 24}))
    loaded = load_generator(tmp_path, dtype=torch.bfloat16)
    assert loaded.patch_embedding.weight.dtype == torch.bfloat16
    assert torch.equal(loaded.head.head.weight, model.head.head.weight.bfloat16())


@pytest.mark.parametrize("target", ["generator.safetensors", "bundle_dir"])
def test_own_format_round_trips(tmp_path, target):
    cfg = GeneratorConfig(
        **{
            **SMALL.to_dict(),
            "channel_branch": True,
            "channel_dim": 24,
            "channel_heads": 2,
            "history_mode": "full",
        }
    )
    model = randomised(cfg)
    save_generator(model, tmp_path / target)
    loaded = load_generator(tmp_path / target)
    assert loaded.config == cfg
    assert torch.equal(velocity(loaded), velocity(model))
    written = {
        "generator.safetensors": ["generator.safetensors"],
        "bundle_dir": ["bundle_dir", "generator.safetensors"],
    }[target]
    assert sorted(p.name for p in tmp_path.rglob("*")) == written  # no temporary files left


def test_strict_loading_lists_every_mismatch(tmp_path):
    model = randomised()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    del state["blocks.1.ffn.2.bias"]
    state["blocks.0.sideblock.weight"] = torch.zeros(3)
    state["head.head.weight"] = torch.zeros(7, 48)
    (tmp_path / "config.json").write_text(json.dumps({**RELEASED_STYLE, "text_dim": 24}))
    save_file(state, str(tmp_path / "diffusion_pytorch_model.safetensors"))
    with pytest.raises(ValueError) as err:
        load_generator(tmp_path)
    text = str(err.value)
    assert "missing: blocks.1.ffn.2.bias [48]" in text
    assert "unexpected: blocks.0.sideblock.weight [3]" in text
    assert "shape: head.head.weight: file [7, 48] vs model [16, 48]" in text


def test_own_file_missing_branch_weights_is_an_error(tmp_path):
    save_generator(randomised(), tmp_path / "g.safetensors")
    from safetensors import safe_open

    with safe_open(str(tmp_path / "g.safetensors"), "pt") as f:
        metadata, state = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    config = json.loads(metadata["yume_gym.config"])
    metadata["yume_gym.config"] = json.dumps({**config, "channel_branch": True})
    save_file(state, str(tmp_path / "g.safetensors"), metadata=metadata)
    with pytest.raises(
        ValueError, match=r"channel_branch=True\):\n  missing: blocks.0.channel_fusion"
    ):
        load_generator(tmp_path / "g.safetensors")


def test_corrupt_and_missing_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no generator checkpoint at"):
        load_generator(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no generator checkpoint"):
        load_generator(tmp_path)  # an empty directory
    save_generator(randomised(), tmp_path / "g.safetensors")
    data = (tmp_path / "g.safetensors").read_bytes()
    (tmp_path / "g.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_generator(tmp_path / "g.safetensors")
    (tmp_path / "rel").mkdir()
    (tmp_path / "rel" / "config.json").write_text(json.dumps(RELEASED_STYLE))
    with pytest.raises(FileNotFoundError, match="no diffusion_pytorch_model.safetensors"):
        load_generator(tmp_path / "rel")
    (tmp_path / "rel" / "diffusion_pytorch_model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_generator(tmp_path / "rel")
    (tmp_path / "rel" / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json"):
        load_generator(tmp_path / "rel")


def test_released_config_errors(tmp_path):
    model = randomised()
    for extra, message in (
        ({"window_size": [4, 4]}, "only full attention"),
        ({"model_type": "i2v"}, "model_type='i2v' is not supported"),
        ({"dim_mult": 3}, r"unknown WanModel field\(s\) \['dim_mult'\]"),
        ({"_class_name": "WanTransformer3DModel"}, "diffusers-format"),
    ):
        write_released(tmp_path, model, {**RELEASED_STYLE, "text_dim": 24, **extra})
        with pytest.raises(ValueError, match=message):
            load_generator(tmp_path)


def test_cannot_save_a_meta_model(tmp_path):
    with pytest.raises(ValueError, match="meta device"):
        save_generator(build_generator(SMALL, device="meta"), tmp_path / "g.safetensors")
    assert list(tmp_path.iterdir()) == []

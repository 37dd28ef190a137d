"""The presets' parameter layouts: yume-5b against the released manifest, tiny's size."""

import math

import pytest
import torch

from yume_gym.model import PRESETS, build_generator

# Facts from DESIGN.md section 4 (Wan2.2-TI2V-5B + Yume history embeddings), written out
# independently of the model code.
DIM, FFN, FREQ, TEXT, LAYERS, LATENT = 3072, 14336, 256, 4096, 30, 48


def released_manifest() -> dict[str, tuple[int, ...]]:
    m = {
        "patch_embedding.weight": (DIM, LATENT, 1, 2, 2),
        "patch_embedding.bias": (DIM,),
        "text_embedding.0.weight": (DIM, TEXT),
        "text_embedding.0.bias": (DIM,),
        "text_embedding.2.weight": (DIM, DIM),
        "text_embedding.2.bias": (DIM,),
        "time_embedding.0.weight": (DIM, FREQ),
        "time_embedding.0.bias": (DIM,),
        "time_embedding.2.weight": (DIM, DIM),
        "time_embedding.2.bias": (DIM,),
        "time_projection.1.weight": (6 * DIM, DIM),
        "time_projection.1.bias": (6 * DIM,),
        "head.head.weight": (192, DIM),
        "head.head.bias": (192,),
        "head.modulation": (1, 2, DIM),
    }
    for n in range(LAYERS):
        b = f"blocks.{n}."
        for attn in ("self_attn", "cross_attn"):
            for proj in "qkvo":
                m[f"{b}{attn}.{proj}.weight"] = (DIM, DIM)
                m[f"{b}{attn}.{proj}.bias"] = (DIM,)
            m[f"{b}{attn}.norm_q.weight"] = (DIM,)
            m[f"{b}{attn}.norm_k.weight"] = (DIM,)
        m[f"{b}norm3.weight"] = (DIM,)
        m[f"{b}norm3.bias"] = (DIM,)
        m[f"{b}ffn.0.weight"], m[f"{b}ffn.0.bias"] = (FFN, DIM), (FFN,)
        m[f"{b}ffn.2.weight"], m[f"{b}ffn.2.bias"] = (DIM, FFN), (DIM,)
        m[f"{b}modulation"] = (1, 6, DIM)
    for suffix, k in (("2x", 4), ("4x", 8), ("8x", 16), ("16x", 32)):
        m[f"patch_embedding_{suffix}.weight"] = (DIM, LATENT, 1, k, k)
        m[f"patch_embedding_{suffix}.bias"] = (DIM,)
    m["patch_embedding_2x_f.weight"] = (LATENT, LATENT, 1, 4, 4)
    m["patch_embedding_2x_f.bias"] = (LATENT,)
    return m


def test_yume_5b_matches_the_released_layout_on_meta():
    model = build_generator("yume-5b", device="meta")
    assert all(p.is_meta for p in model.parameters())
    got = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    expected = released_manifest()
    assert sorted(set(expected) - set(got)) == []
    assert sorted(set(got) - set(expected)) == []
    assert {n: s for n, s in got.items() if expected[n] != s} == {}
    assert model.config.channel_branch is False


def test_yume_5b_parameter_count():
    model = build_generator("yume-5b", device="meta")
    count = sum(p.numel() for p in model.parameters())
    expected = sum(math.prod(shape) for shape in released_manifest().values())
    print(f"yume-5b parameters: {count:,}")
    assert count == expected
    assert 4.9e9 < count < 5.5e9


def test_tiny_preset_is_small_with_channel_branch():
    cfg = PRESETS["tiny"]
    assert cfg.channel_branch and cfg.channel_dim == 96
    assert (cfg.in_dim, cfg.out_dim, cfg.dim, cfg.num_layers, cfg.patch_size) == (
        16,
        16,
        128,
        4,
        (1, 2, 2),
    )
    torch.manual_seed(0)
    model = build_generator("tiny")
    count = sum(p.numel() for p in model.parameters())
    print(f"tiny parameters: {count:,}")
    assert 1e6 < count < 10e6
    fusion = model.blocks[0].channel_fusion
    assert fusion is not None and tuple(fusion.down.weight.shape) == (96, 128)
    assert tuple(model.patch_embedding_channel.weight.shape) == (96, 16, 8, 4, 4)
    # The released manifest's names are all present; the branch only adds names.
    base = {n for n in model.state_dict() if "channel" not in n}
    assert base == {
        n
        for n in released_manifest()
        if not n.startswith("blocks.") or int(n.split(".")[1]) < cfg.num_layers
    }


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ValueError, match="unknown generator preset 'yume-14b'.*tiny.*yume-5b"):
        build_generator("yume-14b", device="meta")

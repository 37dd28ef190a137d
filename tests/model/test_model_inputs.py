"""The generator's forward contract: shapes, input errors, seeds, and fidelity to Wan."""

import re

import pytest
import torch
import torch.nn.functional as F
from diffusers import WanTransformer3DModel

from yume_gym.model import PRESETS, GeneratorConfig, build_generator

CFG = PRESETS["test"]


def randomised(cfg=CFG, seed=0):
    torch.manual_seed(seed)
    model = build_generator(cfg)
    with torch.no_grad():  # fresh heads are zero; random weights make outputs informative
        for p in model.parameters():
            p.normal_(0, 0.3)
    return model


def inputs(b=2, f=3, h=6, w=8, hist=0, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, 4, f, h, w, generator=g)
    context = torch.randn(b, 5, 24, generator=g)
    history = torch.randn(b, 4, hist, h, w, generator=g) if hist else None
    return x, torch.tensor([300.0, 800.0][:b]), context, history


def test_output_shape_and_dtype():
    model = randomised()
    for hist in (0, 1, 7):
        x, t, context, history = inputs(hist=hist)
        with torch.no_grad():
            out = model(x, t, context, history)
        assert out.shape == x.shape and out.dtype == x.dtype and torch.isfinite(out).all()


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            lambda x, t, c, h: (x[:, :3], t, c, h),
            "3 latent channels; this generator expects in_dim = 4",
        ),
        (lambda x, t, c, h: (x[:, :, 0], t, c, h), r"\(B, C, F, H, W\) tensor with C = in_dim = 4"),
        (lambda x, t, c, h: (x[..., :5], t, c, h), r"multiples of the patch size \(2, 2\)"),
        (
            lambda x, t, c, h: (x, t, c[..., :20], h),
            "context width is 20; this generator expects text_dim = 24",
        ),
        (lambda x, t, c, h: (x, t, torch.randn(2, 17, 24), h), "17 tokens; at most text_len = 16"),
        (lambda x, t, c, h: (x, t, c[:1], h), r"\(B=2, L, text_dim=24\)"),
        (lambda x, t, c, h: (x, t[:1], c, h), r"timestep must have shape \(B,\) = \(2,\)"),
        (
            lambda x, t, c, h: (x, t, c, h[..., :4]),
            r"history must be \(B, C, Hh, H, W\) = \(2, 4, 'Hh', 6, 8\)",
        ),
        (lambda x, t, c, h: (x, t, c, h[:, :2]), r"history must be .* = \(2, 4, 'Hh', 6, 8\)"),
        (lambda x, t, c, h: (x, t, c, h[:, :, 0]), r"history must be .* to match x"),
    ],
)
def test_bad_inputs_name_the_expected_value(bad, message):
    model = build_generator(CFG)
    with pytest.raises(ValueError, match=message):
        model(*bad(*inputs(hist=3)))


def test_same_seed_same_model_and_output():
    def make(seed):
        torch.manual_seed(seed)
        model = build_generator("tiny")
        x = torch.randn(1, 16, 2, 8, 8)
        context, history = torch.randn(1, 4, 64), torch.randn(1, 16, 3, 8, 8)
        with torch.no_grad():
            model.head.head.weight.normal_(0, 0.1)  # drawn from the same seeded stream
            return model.state_dict(), model(x, torch.tensor([500.0]), context, history)

    (state_a, out_a), (state_b, out_b), (state_c, out_c) = make(3), make(3), make(4)
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert torch.equal(out_a, out_b)
    assert not torch.equal(
        state_a["blocks.0.self_attn.q.weight"], state_c["blocks.0.self_attn.q.weight"]
    )
    assert not torch.allclose(out_a, out_c)


def test_every_parameter_is_initialised():
    model = build_generator(CFG, device="meta")
    model.to_empty(device="cpu")
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    model.init_weights()
    assert [n for n, p in model.named_parameters() if not torch.isfinite(p).all()] == []


def test_context_is_zero_padded_and_rows_are_independent():
    model = randomised()
    x, t, context, history = inputs(hist=4)
    padded = F.pad(context, (0, 0, 0, CFG.text_len - context.shape[1]))
    with torch.no_grad():
        out = model(x, t, context, history)
        assert torch.allclose(out, model(x, t, padded, history), atol=1e-5)
        row = model(x[1:], t[1:], context[1:], history[1:])
        assert torch.allclose(out[1:], row, atol=1e-4)
        assert torch.equal(model(x, t, context, None), model(x, t, context, history[:, :, :0]))


def diffusers_name(name: str) -> str:
    """Wan-native parameter name -> diffusers WanTransformer3DModel name."""
    rules = [
        (r"^time_embedding\.0", "condition_embedder.time_embedder.linear_1"),
        (r"^time_embedding\.2", "condition_embedder.time_embedder.linear_2"),
        (r"^text_embedding\.0", "condition_embedder.text_embedder.linear_1"),
        (r"^text_embedding\.2", "condition_embedder.text_embedder.linear_2"),
        (r"^time_projection\.1", "condition_embedder.time_proj"),
        (r"^head\.modulation", "scale_shift_table"),
        (r"^head\.head", "proj_out"),
        (r"\.modulation$", ".scale_shift_table"),
        (r"\.ffn\.0", ".ffn.net.0.proj"),
        (r"\.ffn\.2", ".ffn.net.2"),
        (r"\.norm3\.", ".norm2."),
        (r"\.self_attn\.o\.", ".attn1.to_out.0."),
        (r"\.cross_attn\.o\.", ".attn2.to_out.0."),
        (r"\.self_attn\.([qkv])\.", r".attn1.to_\1."),
        (r"\.cross_attn\.([qkv])\.", r".attn2.to_\1."),
        (r"\.self_attn\.norm", ".attn1.norm"),
        (r"\.cross_attn\.norm", ".attn2.norm"),
    ]
    for pattern, replacement in rules:
        name = re.sub(pattern, replacement, name)
    return name


def test_backbone_matches_diffusers_wan():
    """Same weights in diffusers' independent Wan2.2 implementation give the same velocity;
    uncompressed history equals running it on [history, chunk] with timestep 0 on history."""
    model = randomised()
    reference = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=24,
        in_channels=4,
        out_channels=4,
        text_dim=24,
        freq_dim=32,
        ffn_dim=96,
        num_layers=2,
    )
    state = {
        diffusers_name(k): v
        for k, v in model.state_dict().items()
        if not k.startswith("patch_embedding_")
    }
    reference.load_state_dict(state, strict=True)
    x, t, context, history = inputs(hist=5)
    padded = F.pad(context, (0, 0, 0, CFG.text_len - context.shape[1]))
    tokens_per_frame = (6 // 2) * (8 // 2)
    with torch.no_grad():
        ours = model(x, t, context)
        theirs = reference(
            x, t[:, None].expand(2, 3 * tokens_per_frame), padded, return_dict=False
        )[0]
        assert torch.allclose(ours, theirs, atol=2e-3, rtol=1e-3)
        model.configure(history_mode="full")
        ours = model(x, t, context, history)
        per_token = torch.cat(
            [torch.zeros(2, 5 * tokens_per_frame), t[:, None].expand(2, 3 * tokens_per_frame)], 1
        )
        theirs = reference(torch.cat([history, x], 2), per_token, padded, return_dict=False)[0][
            :, :, 5:
        ]
        assert torch.allclose(ours, theirs, atol=2e-3, rtol=1e-3)


def test_bfloat16_model_runs_close_to_float32():
    model = randomised()
    x, t, context, history = inputs(hist=4)
    with torch.no_grad():
        ref = model(x, t, context, history)
        out = model.to(torch.bfloat16)(x, t, context, history)
    assert out.dtype == torch.float32
    assert (out - ref).abs().mean() < 0.05 * ref.abs().mean()


def test_rope_split_and_long_positions():
    from yume_gym.model.rope import axis_dims, rope_cos_sin

    assert axis_dims(128) == (44, 42, 42)  # the released head dim
    assert axis_dims(32) == (12, 10, 10)  # tiny's
    cos, sin = rope_cos_sin(torch.tensor([[1023, 0, 0], [1024, 0, 0], [5000, 3, 7]]), 128)
    assert cos.shape == (3, 64) and torch.isfinite(cos).all() and torch.isfinite(sin).all()
    assert not torch.allclose(cos[0], cos[1])  # positions past the released 1024-entry table differ


def test_a_reused_conditioning_gives_the_same_velocity_and_checks_the_chunk_shape():
    torch.manual_seed(0)
    model = build_generator(GeneratorConfig(**{**PRESETS["tiny"].to_dict(), "text_len": 16})).eval()
    torch.nn.init.normal_(model.head.head.weight, std=0.02)
    x, context = torch.randn(2, 16, 2, 8, 8), torch.randn(2, 10, 64)
    history = torch.randn(2, 16, 7, 8, 8)
    with torch.no_grad():
        conditioning = model.condition(x, context, history)
        for t in (900.0, 300.0):
            direct = model(x, torch.full((2,), t), context, history)
            reused = model(x, torch.full((2,), t), conditioning=conditioning)
            torch.testing.assert_close(reused, direct)
        with pytest.raises(ValueError, match="made for chunks of"):
            model(x[:1], torch.full((1,), 500.0), conditioning=conditioning)
        with pytest.raises(ValueError, match="not both"):
            model(x, torch.full((2,), 500.0), context, conditioning=conditioning)


def test_configs_that_would_exhaust_memory_are_refused_before_building():
    import time

    from yume_gym.model import PRESETS, GeneratorConfig
    from yume_gym.model.codec import CodecConfig
    from yume_gym.model.text_encoder import TextEncoderConfig

    released = PRESETS["yume-5b"].to_dict()
    started = time.perf_counter()
    for build, message in (
        (lambda: GeneratorConfig(**{**released, "dim": 10**9}), r"dim=1000000000 is above the limit 12,288"),
        (lambda: GeneratorConfig(**{**released, "num_layers": 10**4}), r"num_layers=10000 is above the limit 120"),
        (lambda: GeneratorConfig(**{**released, "dim": 12288, "num_layers": 120}), r"weights, above the limit"),
        (lambda: CodecConfig(base_channels=32768, max_channels=32768), r"max_channels=32768 is above the limit"),
        (lambda: TextEncoderConfig(d_model=2**20, num_heads=4), r"d_model=1048576 is above the limit"),
        (lambda: TextEncoderConfig(vocab=["<pad>"] * (4 * 256_384 + 1)), r"vocab=1025537 is above the limit"),
    ):
        with pytest.raises(ValueError, match=message):
            build()
    assert time.perf_counter() - started < 1.0
    assert GeneratorConfig(**released).dim == 3072  # the released size itself is fine

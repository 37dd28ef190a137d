"""TSCM: the tier table, token counts, RoPE positions, coarse initialisation, long episodes."""

import dataclasses
import pytest
import torch
import torch.nn.functional as F

from yume_gym.model import PRESETS, build_generator, tscm

GRID_720P = (44, 80)  # latent grid of 704x1280 video
SMALL = dataclasses.replace(PRESETS["test"], num_layers=1)


def expected_level(i: int, h: int) -> str:
    """Level of history latent i of h, read off DESIGN.md's tier table (r = 0 is the latest)."""
    r = h - 1 - i
    if h <= 6:
        return "1x" if i == 0 or r == 0 else "2x"
    if h <= 86:
        if i == 0 or r < 3:
            return "1x"
        return "2x" if r < 5 else "4x" if r < 21 else "8x"
    if i == 0:
        return "2x"
    if r < 3:
        return "1x"
    for bound, level in ((5, "2x"), (21, "4x"), (85, "8x"), (341, "16x")):
        if r < bound:
            return level
    return "16x" if h <= 342 else "far"


def test_every_history_latent_gets_its_tier_level():
    for h in range(1, tscm.MAX_HISTORY + 1):
        levels = [None] * h
        bands = tscm.plan_history(h)
        for band in bands:
            for i in range(band.start, band.stop):
                assert levels[i] is None, f"latent {i} of {h} embedded twice"
                levels[i] = band.level
        assert levels == [expected_level(i, h) for i in range(h)], f"H={h}"
        assert [b.start for b in bands] == sorted(b.start for b in bands)


def test_tokens_per_latent_at_the_720p_grid():
    expected = {"1x": 880, "2x": 220, "4x": 60, "8x": 15, "16x": 6, "far": 1}
    for level, count in expected.items():
        rows, cols = tscm.level_grid(level, GRID_720P, (2, 2))
        assert rows * cols == count, level
    model = build_generator(SMALL)
    latent = torch.randn(1, 4, 1, *GRID_720P)
    with torch.no_grad():
        for level, count in expected.items():
            emb = tscm._embed(model, level, latent)  # (1, dim, 1, h', w')
            assert emb.shape[2:].numel() == count, level


def test_history_tokens_are_bounded():
    counts = {h: tscm.history_token_count(h, GRID_720P, (2, 2)) for h in range(0, 3001)}
    print(
        f"history tokens at 44x80: 100 latents {counts[100]}, 1000 latents {counts[1000]}, "
        f"max {max(counts.values())}"
    )
    # The documented bound: 7,780 tokens at most, reached at 1366 latents and kept beyond.
    assert max(counts.values()) == 7780 == counts[1366] == counts[3000]
    assert counts[100] == 5304 and counts[1000] == 7414
    assert counts[1000] < 1.5 * counts[100]  # ten times the history, under 1.5 times the tokens
    full = tscm.history_token_count(100, GRID_720P, (2, 2), mode="full")
    assert full == 100 * 880


def test_embedding_tokens_and_positions_follow_the_plan():
    model = build_generator(SMALL)
    hw = (12, 20)
    for h in (1, 2, 5, 9, 30, 100, 400):
        history = torch.randn(1, 4, h, *hw)
        with torch.no_grad():
            tokens, positions = tscm.embed_history(model, history)
        assert tokens.shape == (1, tscm.history_token_count(h, hw, (2, 2)), SMALL.dim)
        assert positions.shape == (tokens.shape[1], 3)
        # each history latent takes the next temporal index, whatever its compression
        assert torch.equal(positions[:, 0].unique(), torch.arange(h))
        for band in tscm.plan_history(h):
            rows, cols = tscm.level_grid(band.level, hw, (2, 2))
            sel = (positions[:, 0] >= band.start) & (positions[:, 0] < band.stop)
            assert int(sel.sum()) == (band.stop - band.start) * rows * cols
            assert (
                int(positions[sel, 1].max()) == rows - 1
                and int(positions[sel, 2].max()) == cols - 1
            )


def test_coarse_embeddings_start_as_the_resized_patch_embedding():
    torch.manual_seed(0)
    model = build_generator(SMALL)
    base = model.patch_embedding.weight  # (dim, C, 1, 2, 2)
    coarse = model.patch_embedding_2x.weight  # (dim, C, 1, 4, 4)
    # align_corners=False upsampling by 2 along each axis: edges copy, inner samples mix 3:1
    assert torch.allclose(coarse[..., 0, 0], base[..., 0, 0])
    assert torch.allclose(coarse[..., 3, 3], base[..., 1, 1])
    assert torch.allclose(coarse[..., 1, 0], 0.75 * base[..., 0, 0] + 0.25 * base[..., 1, 0])
    for name, k in (
        ("patch_embedding_4x", 8),
        ("patch_embedding_8x", 16),
        ("patch_embedding_16x", 32),
    ):
        conv = getattr(model, name)
        assert tuple(conv.kernel_size) == (1, k, k) and tuple(conv.stride) == (1, k, k)
        assert torch.equal(conv.bias, model.patch_embedding.bias)
        assert torch.allclose(conv.weight[..., 0, 0], base[..., 0, 0])
    # zero padding: a latent whose grid is not a multiple of the kernel embeds like its padded copy
    latent = torch.randn(1, 4, 2, 10, 14)
    with torch.no_grad():
        direct = tscm._embed(model, "4x", latent)
        padded = model.patch_embedding_4x(F.pad(latent, (0, 2, 0, 6)))
    assert torch.allclose(direct, padded, atol=1e-5)


@pytest.mark.parametrize("mode", ["tscm", "full"])
def test_very_long_history_keeps_first_and_recent_latents(mode):
    torch.manual_seed(0)
    model = build_generator("tiny")
    model.configure(history_mode=mode)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
    x = torch.randn(1, 16, 2, 4, 4)
    context = torch.randn(1, 5, 64)
    history = torch.randn(1, 16, 1500, 4, 4)
    kept = torch.cat([history[:, :, :1], history[:, :, -1365:]], dim=2)
    with torch.no_grad():
        out = model(x, torch.tensor([700.0]), context, history)
        out_kept = model(x, torch.tensor([700.0]), context, kept)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert torch.equal(out, out_kept)
    assert model.history_token_count(1500, (4, 4)) == model.history_token_count(1366, (4, 4))

"""The small video codec: shapes, normalisation, save/load, input checks, a short overfit."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from yume_gym.model.codec import (
    CodecConfig,
    LatentCodec,
    build_codec,
    load_codec,
    reconstruction_loss,
    save_codec,
)
from yume_gym.model.weights_file import CONFIG_KEY, KIND_KEY

SMALL = dict(image_size=32, spatial_stride=4, base_channels=8, max_channels=16, latent_channels=8)


def small_codec(**overrides) -> LatentCodec:
    torch.manual_seed(0)
    return build_codec(CodecConfig(**{**SMALL, **overrides}))


def random_video(frames: int, size: int = 32, batch: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.rand(batch, 3, frames, size, size, generator=g) * 2 - 1  # (B, 3, T, H, W)


def synthetic_frames(n: int, size: int) -> torch.Tensor:
    """Simple scenes: a two-colour gradient, a disc and a box, (1, 3, n, size, size) in [-1, 1]."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    frames = []
    for _ in range(n):
        colours = (torch.rand(3, 3, 1, 1, generator=g) * 2 - 1).unbind(0)  # 3 x (3, 1, 1)
        cx, cy, x0, y0 = (torch.rand(4, generator=g) * 1.2 - 0.6).tolist()
        disc = (((xx - cx) ** 2 + (yy - cy) ** 2) < 0.16).float()
        box = ((xx > x0) & (xx < x0 + 0.5) & (yy > y0) & (yy < y0 + 0.5)).float()
        img = colours[0] * (1 + yy) / 2 + colours[1] * (1 - yy) / 2
        img = img * (1 - disc) + colours[2] * disc
        frames.append(img * (1 - box) - colours[2] * box)
    return torch.stack(frames, dim=1).unsqueeze(0).clamp(-1, 1)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(4.0 / ((a - b) ** 2).mean().item())  # peak-to-peak range 2


@pytest.mark.parametrize("stride, size", [(8, 64), (4, 32)])
def test_shapes_frame_by_frame(stride: int, size: int) -> None:
    codec = small_codec(spatial_stride=stride, image_size=size)
    video = random_video(5, size)
    with torch.no_grad():
        z = codec.encode(video)
        out = codec.decode(z)
    assert z.shape == (2, 8, 5, size // stride, size // stride)
    assert out.shape == video.shape
    assert out.min() >= -1 and out.max() <= 1
    assert codec.latent_frames(5) == 5 and codec.video_frames(5) == 5
    assert (codec.latent_channels, codec.spatial_stride, codec.temporal_stride) == (8, stride, 1)


def test_shapes_temporal_stride_4() -> None:
    codec = small_codec(temporal_stride=4)
    for frames, latents in [(1, 1), (5, 2), (9, 3)]:
        with torch.no_grad():
            z = codec.encode(random_video(frames))
            out = codec.decode(z)
        assert z.shape == (2, 8, latents, 8, 8)
        assert out.shape == (2, 3, frames, 32, 32)
        assert codec.latent_frames(frames) == latents and codec.video_frames(latents) == frames
    with pytest.raises(ValueError, match=r"1 \+ 4\*k"):
        codec.encode(random_video(6))
    with pytest.raises(ValueError, match=r"1 \+ 4\*k"):
        codec.latent_frames(8)


def test_temporal_grouping_is_causal() -> None:
    """Latent 0 sees only frame 0; latent 1 sees frames 1-4 and not frames 5-8."""
    codec = small_codec(temporal_stride=4)
    video = random_video(9)
    changed = video.clone()
    changed[:, :, 5:] = -changed[:, :, 5:]
    with torch.no_grad():
        a, b = codec.encode(video), codec.encode(changed)
    assert torch.equal(a[:, :, :2], b[:, :, :2])
    assert not torch.allclose(a[:, :, 2], b[:, :, 2])


def test_encode_is_deterministic_and_mode_independent() -> None:
    codec = small_codec()
    video = random_video(3)
    with torch.no_grad():
        first = codec.train().encode(video)
        second = codec.eval().encode(video)
    assert torch.equal(first, second)


def test_fit_normalisation_standardises_latents() -> None:
    codec = small_codec()
    video = random_video(4, batch=3)
    with torch.no_grad():
        before = codec.decode(codec.encode(video))
        raw = codec.encode(video)
        assert raw.mean(dim=(0, 2, 3, 4)).abs().max() > 1e-3  # not already standardised
        codec.fit_normalisation(video)
        z = codec.encode(video)
        after = codec.decode(z)
    assert torch.allclose(z.mean(dim=(0, 2, 3, 4)), torch.zeros(8), atol=1e-4)
    assert torch.allclose(z.std(dim=(0, 2, 3, 4)), torch.ones(8), atol=1e-4)
    assert len(codec.config.latent_mean) == 8 and len(codec.config.latent_std) == 8
    assert torch.allclose(
        before, after, atol=1e-5
    )  # the affine table does not change the round trip


def test_save_load_round_trip(tmp_path) -> None:
    codec = small_codec(temporal_stride=4)
    video = random_video(5)
    codec.fit_normalisation(video)
    path = save_codec(codec, tmp_path / "codec.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codec.safetensors"]  # no temp file left
    loaded = load_codec(path)
    assert loaded.config == codec.config
    with torch.no_grad():
        assert torch.equal(loaded.encode(video), codec.encode(video))
        z = codec.encode(video)
        assert torch.equal(loaded.decode(z), codec.decode(z))
    wide = load_codec(path, dtype=torch.float64)
    assert wide.to_latent.weight.dtype == torch.float64


def test_load_errors(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no weight file"):
        load_codec(tmp_path / "absent.safetensors")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_codec(corrupt)
    with pytest.raises(ValueError, match=r"must end in \.safetensors"):
        save_codec(small_codec(), tmp_path / "codec.pt")


def test_strict_load_lists_every_mismatch(tmp_path) -> None:
    codec = small_codec()
    tensors = {k: v.clone() for k, v in codec.state_dict().items()}
    del tensors["to_latent.bias"]
    tensors["extra.weight"] = torch.zeros(2)
    tensors["from_latent.bias"] = torch.zeros(3)
    metadata = {KIND_KEY: "yume_gym.codec", CONFIG_KEY: json.dumps(vars(codec.config))}
    path = tmp_path / "bad.safetensors"
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError) as err:
        load_codec(path)
    message = str(err.value)
    assert "missing: to_latent.bias" in message
    assert "unexpected: extra.weight" in message
    assert "shape: from_latent.bias: file (3,)" in message


def test_wrong_kind_and_unknown_config_field(tmp_path) -> None:
    codec = small_codec()
    path = tmp_path / "x.safetensors"
    save_file(
        dict(codec.state_dict()),
        str(path),
        metadata={KIND_KEY: "yume_gym.text_encoder", CONFIG_KEY: "{}"},
    )
    with pytest.raises(ValueError, match="holds 'yume_gym.text_encoder' weights"):
        load_codec(path)
    bad_config = json.dumps({**vars(codec.config), "colour": 1})
    save_file(
        dict(codec.state_dict()),
        str(path),
        metadata={KIND_KEY: "yume_gym.codec", CONFIG_KEY: bad_config},
    )
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['colour'\]"):
        load_codec(path)


def test_bad_inputs() -> None:
    codec = small_codec()
    with pytest.raises(ValueError, match=r"shape \(B, 3, T, H, W\)"):
        codec.encode(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"shape \(B, 3, T, H, W\)"):
        codec.encode(torch.zeros(1, 1, 2, 32, 32))
    with pytest.raises(TypeError, match="float tensor"):
        codec.encode(torch.zeros(1, 3, 2, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="divisible by spatial_stride 4"):
        codec.encode(torch.zeros(1, 3, 2, 30, 32))
    with pytest.raises(TypeError, match="torch.Tensor"):
        codec.encode([[0.0]])
    with pytest.raises(ValueError, match=r"shape \(B, 8, T, H, W\)"):
        codec.decode(torch.zeros(1, 16, 2, 8, 8))
    with pytest.raises(ValueError, match="num_latents"):
        codec.video_frames(0)


@pytest.mark.parametrize(
    "overrides, match",
    [
        (dict(spatial_stride=6), "power of two"),
        (dict(temporal_stride=0), "temporal_stride"),
        (dict(image_size=30), "divisible by spatial_stride"),
        (dict(base_channels=12), "multiple of 8"),
        (dict(latent_mean=[0.0, 1.0]), "need 8 values"),
        (dict(latent_std=[0.0] * 8), "must be > 0"),
    ],
)
def test_bad_config(overrides: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CodecConfig(**{**SMALL, **overrides})
    with pytest.raises(TypeError, match="CodecConfig"):
        build_codec({"image_size": 64})


def test_default_codec_is_small() -> None:
    codec = build_codec()
    assert sum(p.numel() for p in codec.parameters()) < 2_000_000
    with torch.no_grad():
        assert codec.encode(torch.zeros(1, 3, 1, 64, 64)).shape == (1, 16, 1, 8, 8)


def _overfit(codec: LatentCodec, video: torch.Tensor, steps: int, lr: float) -> float:
    opt = torch.optim.Adam(codec.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        loss = reconstruction_loss(codec, video)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        return psnr(codec.decode(codec.encode(video)), video)


def test_overfits_a_few_synthetic_frames() -> None:
    codec = small_codec(base_channels=16, max_channels=32)
    video = synthetic_frames(4, 32)
    start = psnr(codec.decode(codec.encode(video)).detach(), video)
    assert _overfit(codec, video, steps=250, lr=3e-3) > max(start + 10, 24.0)  # reached 26.6 dB


@pytest.mark.slow
def test_default_codec_overfits_synthetic_frames() -> None:
    torch.manual_seed(0)
    codec = build_codec()
    assert _overfit(codec, synthetic_frames(8, 64), steps=300, lr=2e-3) > 22.0


def test_edge_term_adds_the_error_of_pixel_differences() -> None:
    codec = small_codec()
    video = random_video(2)
    with torch.no_grad():
        recon = codec.decode_raw(codec.encode_raw(video))
        dx = lambda v: v[..., :, 1:] - v[..., :, :-1]
        dy = lambda v: v[..., 1:, :] - v[..., :-1, :]
        edges = (F.mse_loss(dx(recon), dx(video)) + F.mse_loss(dy(recon), dy(video))) / 2
        plain = reconstruction_loss(codec, video)
        weighted = reconstruction_loss(codec, video, edge_weight=2.0)
    assert torch.isclose(plain, F.mse_loss(recon, video))
    assert torch.isclose(weighted, plain + 2.0 * edges)
    assert edges > 0


def test_hue_kept_counts_object_pixels_that_keep_their_hue() -> None:
    from yume_gym.evaluation.codec_quality import hue_kept

    original = np.full((2, 8, 8, 3), (90, 140, 90), dtype=np.uint8)  # a green ground
    original[:, 2:6, 3:5] = (200, 30, 30)  # a red pillar: 16 pixels a frame
    recon = original.copy()
    recon[0, 2:6, 3:5] = (90, 140, 90)  # frame 0 loses the pillar; frame 1 keeps it
    kept = hue_kept(original, recon)
    assert kept["red"] == pytest.approx(0.5)
    assert kept["yellow"] is None and kept["purple"] is None  # no frame shows them

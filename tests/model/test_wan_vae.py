"""The Wan2.2 VAE: key conversion at real size (meta device), loading, codec interface."""

import hashlib

import pytest
import torch

from yume_gym.model.safe_load import load_pth, save_pth
from yume_gym.model.wan_vae import (
    WAN22_LATENT_MEAN,
    WAN22_LATENT_STD,
    WanVAE,
    build_wan_vae,
    find_vae,
    load_wan_vae,
    meta_vae,
    save_wan_vae,
    wan22_vae_config,
)
from yume_gym.model.wan_vae_keys import (
    diffusers_to_wan_name,
    wan_manifest,
    wan_name_table,
    wan_to_diffusers_state,
)

# Manifest of Wan's own WanVAE_ (Wan2.2 wan/modules/vae2_2.py, dim=160, z_dim=48,
# dim_mult [1,2,4,4], temperal_downsample [False,True,True]) built on the meta device:
# sha256 of the sorted lines "name [shape]", its key count and its parameter count.
WAN_VAE_DIGEST = "d6eb318580d7756b4a0e2187642cbff278616b7e3d4580d041014a424ab0911e"
WAN_VAE_KEYS, WAN_VAE_PARAMS = 196, 704_688_668
SMALL = dict(base_dim=8, decoder_base_dim=12, z_dim=4, latents_mean=[0.1, -0.2, 0.0, 0.3],
             latents_std=[0.5, 1.5, 1.0, 0.8])


def _digest(manifest):
    text = "\n".join(f"{name} {list(shape)}" for name, shape in sorted(manifest.items()))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def real_meta():
    return meta_vae(wan22_vae_config())


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    vae = build_wan_vae(wan22_vae_config(**SMALL))
    with torch.no_grad():  # RMS-norm gammas start at 1 and some convs at 0: randomise all
        for p in vae.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    return vae


@pytest.fixture(scope="module")
def video():
    return torch.rand(1, 3, 9, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_real_size_manifest_matches_wan(real_meta):
    manifest = wan_manifest(real_meta)
    assert len(manifest) == WAN_VAE_KEYS == len(real_meta.state_dict())
    assert sum(torch.Size(s).numel() for s in manifest.values()) == WAN_VAE_PARAMS
    assert _digest(manifest) == WAN_VAE_DIGEST
    assert manifest["decoder.upsamples.0.upsamples.3.time_conv.weight"] == (2048, 1024, 3, 1, 1)
    assert manifest["encoder.downsamples.1.downsamples.2.time_conv.weight"] == (320, 320, 3, 1, 1)
    assert manifest["encoder.head.2.weight"] == (96, 640, 3, 3, 3)
    assert manifest["conv1.weight"] == (96, 96, 1, 1, 1)


def test_real_size_conversion_lands_every_key(real_meta):
    """Every Wan-native tensor renames onto a parameter of its shape; nothing left over."""
    wan_state = {name: torch.empty(shape, device="meta") for name, shape in wan_manifest(real_meta).items()}
    converted = wan_to_diffusers_state(wan_state, real_meta)
    model = meta_vae(wan22_vae_config())
    model.load_state_dict(converted, strict=True, assign=True)  # raises on any leftover/missing
    assert len(set(wan_name_table(real_meta).values())) == len(real_meta.state_dict())
    with pytest.raises(ValueError, match="not Wan2.2 VAE parameter names"):
        wan_to_diffusers_state({**wan_state, "encoder.extra.weight": torch.empty(1)}, real_meta)
    with pytest.raises(ValueError, match="no Wan-native name"):
        diffusers_to_wan_name("encoder.mystery.weight", 2)


def test_codec_interface(small, video):
    assert (small.latent_channels, small.spatial_stride, small.temporal_stride) == (4, 16, 4)
    assert small.latent_frames(9) == 3 and small.video_frames(3) == 9
    with pytest.raises(ValueError, match=r"1 \+ 4\*k \(e.g. 5 or 9\)"):
        small.latent_frames(6)
    latents = small.encode(video)
    assert latents.shape == (1, 4, 3, 2, 2) and latents.dtype == torch.float32
    raw = small.vae.encode(video).latent_dist.mode()
    mean, std = torch.tensor(SMALL["latents_mean"]), torch.tensor(SMALL["latents_std"])
    torch.testing.assert_close(latents, (raw - mean.view(1, 4, 1, 1, 1)) / std.view(1, 4, 1, 1, 1))
    out = small.decode(latents)
    assert out.shape == video.shape and out.abs().max() <= 1.0


def test_bad_inputs_are_named(small, video):
    with pytest.raises(ValueError, match=r"shape \(B, 3, T, H, W\)"):
        small.encode(video[:, :2])
    with pytest.raises(TypeError, match="float tensor"):
        small.encode((video * 100).to(torch.uint8))
    with pytest.raises(ValueError, match="divisible by 16"):
        small.encode(video[..., :24])
    with pytest.raises(TypeError, match="AutoencoderKLWan"):
        WanVAE(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="unknown AutoencoderKLWan field"):
        wan22_vae_config(zdim=4)


def test_real_config_table():
    config = wan22_vae_config()
    assert config["latents_mean"] == list(WAN22_LATENT_MEAN) and len(WAN22_LATENT_STD) == 48
    vae = WanVAE(meta_vae(config))
    assert (vae.latent_channels, vae.spatial_stride, vae.temporal_stride) == (48, 16, 4)


def test_native_file_round_trip(tmp_path, small, video):
    path = save_wan_vae(small, tmp_path / "Wan2.2_VAE.pth")
    assert set(load_pth(path)) == set(wan_manifest(small.vae))
    loaded = load_wan_vae(tmp_path, config=wan22_vae_config(**SMALL))
    latents = small.encode(video)
    assert torch.equal(loaded.encode(video), latents)
    assert torch.equal(loaded.decode(latents), small.decode(latents))


def test_diffusers_folder_round_trip(tmp_path, small, video):
    small.vae.save_pretrained(tmp_path / "vae")
    assert find_vae(tmp_path).kind == "diffusers"
    loaded = load_wan_vae(tmp_path, dtype=torch.float32)
    latents = small.encode(video)
    assert torch.equal(loaded.encode(video), latents)
    assert torch.equal(loaded.decode(latents), small.decode(latents))


def test_strict_loading_names_the_problem(tmp_path, small):
    state = load_pth(save_wan_vae(small, tmp_path / "good.pth"))
    renamed = dict(state)
    renamed["conv1.w"] = renamed.pop("conv1.weight")
    save_pth(renamed, tmp_path / "renamed" / "Wan2.2_VAE.pth")
    with pytest.raises(ValueError, match=r"(?s)missing: conv1.weight.*unexpected: conv1.w "):
        load_wan_vae(tmp_path / "renamed", config=wan22_vae_config(**SMALL))
    with pytest.raises(ValueError, match=r"shape: conv1.weight: file \[8, 8, 1, 1, 1\] vs model \[96, 96"):
        load_wan_vae(tmp_path / "good.pth")  # small weights against the real Wan2.2 config
    with pytest.raises(FileNotFoundError, match="no VAE at"):
        load_wan_vae(tmp_path / "renamed" / "nothing")


def test_stream_decoder_continues_the_one_shot_decode(small, video):
    latents = small.encode(video)  # 9 frames -> 3 latents
    whole = small.decode(latents)
    stream = small.stream_decoder()
    parts = [stream(latents[:, :, :2]), stream(latents[:, :, 2:])]
    assert [p.shape[2] for p in parts] == [5, 4]
    assert stream.cache_bytes > 0
    torch.testing.assert_close(torch.cat(parts, dim=2), whole, atol=1e-5, rtol=0)


def test_tiling_runs_and_validates(small):
    video = torch.rand(1, 3, 1, 48, 48, generator=torch.Generator().manual_seed(2)) * 2 - 1
    plain = small.decode(small.encode(video))
    small.set_tiling(True, tile_size=32, tile_stride=16)
    try:
        tiled = small.decode(small.encode(video))
    finally:
        small.set_tiling(False)
    assert tiled.shape == plain.shape and not torch.equal(tiled, plain)
    with pytest.raises(ValueError, match="tile_stride"):
        small.set_tiling(True, tile_size=32, tile_stride=32)

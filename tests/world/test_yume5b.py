"""yume_gym/Yume5B-v0 on small random checkpoint directories in the released layouts."""

import re
import shutil

import gymnasium as gym
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from release_layout import T5, VAE
import yume_gym  # noqa: F401  (registers the ids)
from yume_gym.actions import SpeedSuffix, caption_for_action
from yume_gym.images import prepare_image
from yume_gym.world.bundle import GenerationConfig
from yume_gym.world.released import RELEASED_SPEED, load_yume5b

ENV_ID = "yume_gym/Yume5B-v0"
SIZE = (32, 32)  # 2x2 latents through the VAE's stride 16
CHUNK_FRAMES = 1 + 4 * (8 - 1)
NATIVE = dict(resolution="544x960", frame_size_override=SIZE, device="cpu", dtype=torch.float32,
              vae_config=VAE, text_config=T5)
IMAGE = np.random.default_rng(0).integers(0, 256, size=(40, 48, 3), dtype=np.uint8)


def _history(env):
    return env.unwrapped.get_state()["world"].history  # (C, H, h, w)


def _rollout(env, seed):
    obs, info = env.reset(seed=seed, options={"image": IMAGE})
    frames = [info["frames"]]
    for action in (9, 10):
        obs, reward, terminated, truncated, info = env.step(action)
        frames.append(info["frames"])
    return np.stack(frames)


def test_released_settings(release_native_dir):
    model = load_yume5b(release_native_dir, **NATIVE)
    g = model.generation
    assert (g.chunk_latents, g.steps, g.shift, g.fps, g.image_history_latents) == (8, 4, 7.0, 16, 5)
    assert g.speed == RELEASED_SPEED and model.frame_size == SIZE and model.is_trained
    assert model.chunk_frames == CHUNK_FRAMES and model.chunk_latent_shape == (4, 8, 2, 2)
    assert load_yume5b(release_native_dir, **NATIVE) is model  # one shared copy per process
    assert load_yume5b(release_native_dir, **{**NATIVE, "frame_size_override": None}).frame_size == (544, 960)


def test_image_start_and_steps(release_native_dir):
    env = gym.make(ENV_ID, checkpoint_dir=release_native_dir, **NATIVE)
    assert env.unwrapped.model is load_yume5b(release_native_dir, **NATIVE)
    assert env.metadata["video_fps"] == 16 and env.metadata["render_fps"] == 16 / CHUNK_FRAMES
    obs, info = env.reset(seed=0, options={"image": IMAGE})
    assert obs.shape == (*SIZE, 3) and obs.dtype == np.uint8 and info["start"] == "image"
    assert info["frames"].shape == (CHUNK_FRAMES, *SIZE, 3)
    assert (info["frames"] == prepare_image(IMAGE, *SIZE)).all()  # the opening chunk: the image
    assert _history(env).shape == (4, 5, 2, 2)  # released image start: 5 latents of history
    for step, action in enumerate((9, 10), start=1):
        obs, reward, terminated, truncated, info = env.step(action)
        assert obs.shape == (*SIZE, 3) and obs.dtype == np.uint8
        assert info["frames"].shape == (CHUNK_FRAMES, *SIZE, 3) and info["frames"].dtype == np.uint8
        assert (reward, terminated, truncated, info["step"]) == (0.0, False, False, step)
        assert "Actual distance moved:4" in info["caption"]
        assert _history(env).shape[1] == 5 + 8 * step
    env.close()


def test_image_history_is_the_released_17_frame_encoding(release_native_dir):
    env = gym.make(ENV_ID, checkpoint_dir=release_native_dir, observation="latent", **NATIVE)
    latents, _ = env.reset(seed=0, options={"image": IMAGE})
    assert latents.shape == (4, 8, 2, 2)  # the opening chunk keeps its full shape
    history = _history(env)
    assert torch.equal(history, torch.from_numpy(latents[:, :5]))
    fitted = torch.from_numpy(prepare_image(IMAGE, *SIZE)).permute(2, 0, 1).float() / 127.5 - 1.0
    video = fitted[None, :, None].expand(1, 3, 17, *SIZE)  # the image repeated over 17 frames
    released = env.unwrapped.model.codec.encode(video)[0]  # (C, 5, h, w)
    torch.testing.assert_close(history, released, atol=1e-5, rtol=1e-4)
    env.close()


def test_text_start_gives_a_whole_chunk(release_native_dir):
    env = gym.make(ENV_ID, checkpoint_dir=release_native_dir, observation="chunk", **NATIVE)
    obs, info = env.reset(seed=0, options={"prompt": "the street"})
    assert obs.shape == (CHUNK_FRAMES, *SIZE, 3) and info["start"] == "text"
    assert _history(env).shape[1] == 8
    env.close()


def test_seed_determinism(release_native_dir):
    env = gym.make(ENV_ID, checkpoint_dir=release_native_dir, **NATIVE)
    first, again, other = _rollout(env, 7), _rollout(env, 7), _rollout(env, 8)
    assert np.array_equal(first, again)
    assert not np.array_equal(first[1:], other[1:])
    env.close()


def test_vector_env(release_native_dir):
    envs = gym.make_vec(ENV_ID, num_envs=2, checkpoint_dir=release_native_dir, **NATIVE)
    obs, _ = envs.reset(seed=0, options={"image": IMAGE})
    assert obs.shape == (2, *SIZE, 3) and obs.dtype == np.uint8
    obs, rewards, terminated, truncated, infos = envs.step([9, 0])
    assert obs.shape == (2, *SIZE, 3) and infos["frames"].shape == (2, CHUNK_FRAMES, *SIZE, 3)
    envs.close()


def test_diffusers_layout_loads_the_same_weights(release_native_dir, release_diffusers_dir):
    native = load_yume5b(release_native_dir, **NATIVE)
    hf = load_yume5b(release_diffusers_dir, resolution="544x960", frame_size_override=SIZE, device="cpu",
                     dtype="float32")  # the folders carry their own configs
    video = torch.rand(1, 3, 9, *SIZE, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert torch.equal(hf.codec.encode(video), native.codec.encode(video))
    caption = [("First-person perspective. The camera pans to the left.", "the street")]
    assert torch.equal(hf.text_encoder.encode_batch(caption), native.text_encoder.encode_batch(caption))


def test_bfloat16_image_start(release_native_dir):
    env = gym.make(ENV_ID, checkpoint_dir=release_native_dir, **{**NATIVE, "dtype": torch.bfloat16})
    env.reset(seed=0, options={"image": IMAGE})
    assert _history(env).dtype == torch.bfloat16
    obs, *_ = env.step(9)
    assert obs.shape == (*SIZE, 3)
    env.close()


def test_checkpoint_dir_is_required(release_native_dir):
    with pytest.raises(ValueError, match="needs checkpoint_dir=DIR"):
        gym.make(ENV_ID)
    with pytest.raises(TypeError, match="takes checkpoint_dir=DIR, not checkpoint="):
        gym.make(ENV_ID, checkpoint=release_native_dir)


def test_missing_directory(tmp_path):
    absent = (tmp_path / "absent").resolve()
    with pytest.raises(FileNotFoundError, match=re.escape(f"no Yume-5B checkpoint directory at '{absent}'")):
        gym.make(ENV_ID, checkpoint_dir=absent, **NATIVE)


def test_missing_components_are_listed_together(broken):
    (broken / "Wan2.2_VAE.pth").unlink()
    shutil.rmtree(broken / "google")
    with pytest.raises(FileNotFoundError) as err:
        load_yume5b(broken, **NATIVE)
    text, broken = str(err.value), broken.resolve()
    assert f"'{broken}' is not a usable Yume-5B checkpoint directory" in text
    assert "  - VAE: no VAE at" in text and "  - tokenizer: no google/umt5-xxl/ or tokenizer/ folder" in text
    assert f"run `yume-gym doctor {broken}`" in text


def test_mismatched_weights_point_at_the_doctor(broken):
    state = load_file(str(broken / "diffusion_pytorch_model.safetensors"))
    del state["head.head.weight"]
    save_file(state, str(broken / "diffusion_pytorch_model.safetensors"))
    with pytest.raises(ValueError, match=r"(?s)missing: head\.head\.weight \[16, 32\].*yume-gym doctor"):
        load_yume5b(broken, **NATIVE)


def test_bad_settings(release_native_dir):
    with pytest.raises(ValueError, match=r"resolution '720p' is not a released Yume-5B resolution; "
                                         r"use one of \['704x1280', '544x960'\]"):
        load_yume5b(release_native_dir, resolution="720p")
    with pytest.raises(ValueError, match="frame size 40x40 is not a multiple of the codec stride 16"):
        load_yume5b(release_native_dir, **{**NATIVE, "frame_size_override": (40, 40)})
    with pytest.raises(ValueError, match=r"image_history_latents=9 must be None or an integer in 1\.\.chunk_latents \(8\)"):
        GenerationConfig(chunk_latents=8, image_history_latents=9)


def _encoded_texts(model, monkeypatch):
    """Record the texts each call of the model's text encoder runs through its network."""
    calls: list[list[str]] = []
    encode = model.text_encoder.encode_parts
    monkeypatch.setattr(model.text_encoder._cache, "encode",
                        lambda texts: (texts and calls.append(list(texts)), encode(texts))[1])
    return calls


def test_joined_captions_are_one_string_per_chunk_encoded_once(release_native_dir, monkeypatch):
    from yume_gym.world.batch import WorldBatch, WorldStart

    model = load_yume5b(release_native_dir, **NATIVE)
    assert model.generation.caption_composition == "joined"
    model.text_encoder.clear_cache()
    calls = _encoded_texts(model, monkeypatch)
    world = WorldBatch(model, num_worlds=2)
    world.start([0, 1], [WorldStart(seed=0, prompt="the street"), WorldStart(seed=1, prompt="the street")])
    chunk = world.advance([0, 1], [9, 9])  # W, no turn, in both worlds: one distinct string
    action = caption_for_action(9, RELEASED_SPEED)
    assert calls == [[caption_for_action(0, RELEASED_SPEED) + "the street"], [action + "the street"]]
    assert chunk.captions == [action + "the street"] * 2
    world.advance([0, 1], [9, 9])
    assert len(calls) == 2 and model.text_encoder.cache_info().hits >= 2  # cached per distinct string
    cached = model.text_encoder._cache._entries[action + "the street"]
    assert cached.device == model.device  # kept where the generator runs


def test_split_captions_encode_the_parts_separately(release_native_dir, monkeypatch):
    from yume_gym.world.batch import WorldBatch, WorldStart

    model = load_yume5b(release_native_dir, **{**NATIVE, "caption_composition": "split"})
    assert model is not load_yume5b(release_native_dir, **NATIVE)
    model.text_encoder.clear_cache()
    calls = _encoded_texts(model, monkeypatch)
    world = WorldBatch(model)
    world.start([0], [WorldStart(seed=0, prompt="the street")])
    assert calls == [[caption_for_action(0, RELEASED_SPEED), "the street"]]


def test_speed_sentence_is_settable(release_native_dir):
    slow = SpeedSuffix(distance=1.5, turn_speed=4.0, view_speed=4.0, distance_when_turning=0.0)
    model = load_yume5b(release_native_dir, **{**NATIVE, "speed": slow})
    assert model.generation.speed == slow
    w_right = caption_for_action(10, slow)  # W and pan right, as caption_re.txt's lines
    assert "Actual distance moved:0 at" in w_right and "(turn speed):4." in w_right
    assert "Actual distance moved:1.5 at" in caption_for_action(9, slow)
    with pytest.raises(ValueError, match=r"speed.distance=-1 must be a number >= 0 \(a SpeedSuffix field"):
        SpeedSuffix(distance=-1)


def test_unknown_caption_composition_names_the_choices(release_native_dir):
    choices = r"use one of \['split', 'joined'\]"
    with pytest.raises(ValueError, match=rf"caption_composition='both' is not known; {choices}"):
        load_yume5b(release_native_dir, **{**NATIVE, "caption_composition": "both"})
    with pytest.raises(ValueError, match=rf"caption_composition='concat' is not known; {choices}"):
        GenerationConfig(caption_composition="concat")


def test_fast_step_options_reach_the_released_generator(release_native_dir):
    pytest.importorskip("torchao", reason="int8 quantisation needs torchao (the quant extra)")
    model = load_yume5b(release_native_dir, **{**NATIVE, "quantize": "int8"})
    assert model.generation.quantize == "int8" and model.generator.quantization == "int8"
    assert load_yume5b(release_native_dir, **NATIVE).generator.quantization is None  # a separate copy
    env = gym.make(ENV_ID, checkpoint_dir=release_native_dir, **{**NATIVE, "quantize": "int8"})
    env.reset(seed=0, options={"image": IMAGE})
    assert env.step(0)[0].shape == (*SIZE, 3)
    assert "quantize" not in model.generation.to_dict()  # a run-time setting, never saved
    with pytest.raises(ValueError, match=r"compile='fast' is not known; use None or one of \['default', "):
        load_yume5b(release_native_dir, **{**NATIVE, "compile": "fast"})
    with pytest.raises(ValueError, match=r"quantize='int4' is not known; use None or one of \['int8', 'fp8'\]"):
        load_yume5b(release_native_dir, **{**NATIVE, "quantize": "int4"})

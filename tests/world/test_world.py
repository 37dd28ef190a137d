"""The world model bundle and the batch of world sessions (tiny model, 32x32 frames)."""

import json

import numpy as np
import pytest
import torch

from yume_gym.actions import caption_for_action
from yume_gym.images import fit_image, prepare_image
from yume_gym.world.batch import WorldBatch, WorldStart
from yume_gym.world.bundle import (
    GenerationConfig,
    WorldModel,
    build_world_model,
    load_world_model,
    read_world_model,
    resolve_dtype,
    save_world_model,
)

SIZE = 32


@pytest.fixture(scope="module")
def model() -> WorldModel:
    return build_world_model(frame_size=SIZE, live_head=True)


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    return save_world_model(model, tmp_path_factory.mktemp("bundle") / "tiny")


def test_embedded_default_is_cached_and_says_whether_it_is_trained():
    a = load_world_model()
    assert load_world_model(None, "cpu", "float32") is a
    assert isinstance(a.is_trained, bool)
    if not a.is_trained:
        assert "RANDOM WEIGHTS" in a.describe()


def test_bundle_round_trips_strictly(model, saved):
    loaded = read_world_model(saved)
    assert loaded.generation == model.generation and loaded.is_trained is False
    for name, tensor in model.generator.state_dict().items():
        assert torch.equal(tensor, loaded.generator.state_dict()[name]), name
    assert load_world_model(saved) is load_world_model(str(saved))  # one instance per process


def test_bundle_errors_are_clear(tmp_path, saved):
    with pytest.raises(FileNotFoundError, match="no world model directory"):
        read_world_model(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="world_model.json"):
        read_world_model(tmp_path)
    manifest = json.loads((saved / "world_model.json").read_text())
    manifest["generation"]["frames_per_second"] = 3
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "world_model.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="frames_per_second"):
        read_world_model(bad)
    for text, message in (("[1, 2]", "holds a JSON list, not an object"),
                          ('{"kind": "x", "generation": []}', "not an object with a 'generation' object")):
        (bad / "world_model.json").write_text(text)
        with pytest.raises(ValueError, match=message):
            read_world_model(bad)
    (bad / "world_model.json").write_bytes(b'{"kind": "\xff\xfe"}')
    with pytest.raises(ValueError, match="is not valid UTF-8 JSON"):
        read_world_model(bad)
    manifest["generation"] = {**manifest["generation"], "steps": 10**9}
    del manifest["generation"]["frames_per_second"]
    (bad / "world_model.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"steps=1000000000 must be an integer in 1..1000"):
        read_world_model(bad)
    with pytest.raises(ValueError, match=r"frame_height=32768 must be an integer in 1..5120"):
        GenerationConfig(frame_height=32768)
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("float7")
    with pytest.raises(ValueError, match="chunk_latents"):
        GenerationConfig(chunk_latents=0)


def test_text_start_then_batched_advance(model):
    world = WorldBatch(model, num_worlds=2)
    c, f, h, w = model.chunk_latent_shape
    opening = world.start([0, 1], [WorldStart(seed=0, prompt="a beach"), WorldStart(seed=1)])
    assert opening.latents.shape == (2, c, f, h, w) and opening.steps == [0, 0]
    assert opening.frames.shape == (2, model.chunk_frames, SIZE, SIZE, 3) and opening.frames.dtype == np.uint8
    chunk = world.advance([0, 1], [1, 10])
    assert chunk.steps == [1, 1]
    assert chunk.captions[0] == caption_for_action(1, model.speed) + " a beach"
    assert chunk.captions[1] == caption_for_action(10, model.speed)
    assert world.get_state(0).history.shape[1] == 2 * f  # history grows by one chunk per step
    assert not torch.equal(chunk.latents[0], chunk.latents[1])


def test_action_text_and_history_reach_the_frames(model):
    """Same seed, one input changed: the chunk changes (the random stand-in has a live head)."""

    def chunk(action=1, prompt="a beach", image=None):
        world = WorldBatch(model, 1)
        world.start([0], [WorldStart(seed=0, prompt=prompt, image=image)])
        return world.advance([0], [action]).latents[0]

    ref = chunk()
    assert not torch.equal(ref, chunk(action=2))
    assert not torch.equal(ref, chunk(prompt="a city"))
    assert not torch.equal(chunk(image=np.zeros((8, 8, 3), np.uint8)), chunk(image=np.full((8, 8, 3), 200, np.uint8)))


def test_rows_are_independent_of_their_batch(model):
    """A row's chunk depends on its own seed and action, not on what shares its batch."""
    alone = WorldBatch(model, 1)
    alone.start([0], [WorldStart(seed=7, prompt="a forest")])
    ref = alone.advance([0], [3]).latents[0]
    pair = WorldBatch(model, 2)
    pair.start([0, 1], [WorldStart(seed=99, prompt="a city"), WorldStart(seed=7, prompt="a forest")])
    got = pair.advance([0, 1], [40, 3]).latents[1]
    torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-4)


def test_image_start_encodes_one_chunk_of_history(model):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    world = WorldBatch(model, 1)
    opening = world.start([0], [WorldStart(seed=0, image=image)])
    fitted = prepare_image(image, SIZE, SIZE)
    assert all(np.array_equal(frame, fitted) for frame in opening.frames[0])
    assert world.get_state(0).history.shape == model.chunk_latent_shape
    video = torch.from_numpy(fitted).permute(2, 0, 1)[:, None].float() / 127.5 - 1.0  # (3, 1, H, W)
    expected = model.codec.encode(video.expand(-1, model.chunk_frames, -1, -1)[None])[0]
    torch.testing.assert_close(opening.latents[0], expected)


def test_fit_image_scales_the_shorter_side_and_crops_the_centre():
    image = np.zeros((20, 60, 3), np.uint8)
    image[:, 20:40] = 255  # a white centre third on a black landscape image
    out = fit_image(image, 10, 10)
    assert out.shape == (10, 10, 3)
    assert out.mean() > 240  # only the centre third remains (a left crop would be mostly black)


def test_history_is_bounded_keeping_the_first_latent():
    small = build_world_model(frame_size=SIZE, live_head=True)
    small.generation = GenerationConfig(frame_height=SIZE, frame_width=SIZE, chunk_latents=2, max_history_latents=5)
    world = WorldBatch(small, 1)
    first = world.start([0], [WorldStart(seed=0)]).latents[0, :, 0]
    for _ in range(4):
        world.advance([0], [1])
    history = world.get_state(0).history
    assert history.shape[1] == 5
    torch.testing.assert_close(history[:, 0], first)


def test_bad_world_inputs(model):
    world = WorldBatch(model, 2)
    with pytest.raises(RuntimeError, match="not been started"):
        world.advance([0], [1])
    world.start([0, 1], [WorldStart(seed=0), WorldStart(seed=1)])
    with pytest.raises(ValueError, match="0..80"):
        world.advance([0], [81])
    with pytest.raises(ValueError, match="distinct"):
        world.advance([0, 0], [1, 1])
    with pytest.raises(TypeError, match="prompt"):
        world.start([0], [WorldStart(seed=0, prompt=3)])
    with pytest.raises(TypeError, match="WorldModel"):
        WorldBatch("tiny", 1)


def test_guidance_runs_the_model_without_text_too_and_is_validated(model):
    import dataclasses

    from yume_gym.world.bundle import with_generation

    start = [WorldStart(seed=3, prompt="a grassy meadow")]
    frames = {}
    for scale in (1.0, 1.0, 4.0):
        world = WorldBatch(with_generation(model, guidance=scale), 1)
        world.start([0], start)
        frames.setdefault(scale, []).append(world.advance([0], [10]).frames)
    assert np.array_equal(*frames[1.0])
    assert not np.array_equal(frames[1.0][0], frames[4.0][0])
    with pytest.raises(ValueError, match="guidance"):
        dataclasses.replace(model.generation, guidance=-1.0)


def test_residual_flow_samples_the_change_from_the_last_history_latent(model):
    from yume_gym.world.bundle import with_generation

    image = np.random.default_rng(1).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    chunks = {}
    for scale in (None, 0.25):
        world = WorldBatch(with_generation(model, residual_scale=scale), 1)
        world.start([0], [WorldStart(seed=5, image=image)])
        last = world.get_state(0).history[:, -1:]  # (C, 1, h, w)
        chunks[scale] = world.advance([0], [10]).latents[0]  # same noise and network output in both
    torch.testing.assert_close(chunks[0.25], last + 0.25 * chunks[None])
    for bad in (0.0, -1.0, True, "0.5"):
        with pytest.raises(ValueError, match="residual_scale"):
            GenerationConfig(residual_scale=bad)


def test_residual_flow_round_trips_and_measures_the_change():
    from yume_gym.world.residual_flow import from_flow_space, measure_residual_scale, to_flow_space

    history = torch.randn(2, 3, 5, 4, 4)
    chunk = history[:, :, -1:] + 0.5 * torch.randn(2, 3, 4, 4, 4)
    x = to_flow_space(chunk, history, 0.5)
    assert x.std().item() == pytest.approx(1.0, abs=0.15)
    torch.testing.assert_close(from_flow_space(x, history, 0.5), chunk)
    assert to_flow_space(chunk, None, 0.5) is chunk and to_flow_space(chunk, history, None) is chunk
    assert measure_residual_scale([(chunk, history)] * 3) == pytest.approx(0.5, abs=0.08)
    with pytest.raises(ValueError, match="at least one"):
        measure_residual_scale([])


def test_foundation_ema_forgets_the_initial_weights_quickly():
    from yume_gym.train.foundation import warmed_up_ema

    update = warmed_up_ema(0.999)
    mean = [torch.zeros(1)]
    for n in range(100):
        update(mean, [torch.ones(1)], torch.tensor(n))
    assert mean[0].item() > 0.99  # a fixed 0.999 decay would still hold 90% of the start

import numpy as np
import pytest
import torch
from procworld.dataset import DataConfig, make_clip

from yume_gym.actions import SpeedSuffix, caption_for_action
from yume_gym.train.checkpoint import load_checkpoint, save_checkpoint
from yume_gym.train.chunks import episode_latents, sample_batch
from yume_gym.train.latents import LatentClips
from yume_gym.train.run_log import CsvLog


@pytest.mark.parametrize("index", range(4))
def test_aligned_clips_hold_one_action_per_chunk_and_start_events_on_chunk_boundaries(index):
    clip = make_clip(index, DataConfig(clips=4, frames=33, size=16, align=4, event_share=1.0))
    chunks = clip["actions"][1:].reshape(-1, 4)
    assert (chunks == chunks[:, :1]).all()
    assert (clip["record"]["event_start"] - 1) % 4 == 0


def toy_clips() -> LatentClips:
    latents = torch.arange(2 * 9, dtype=torch.float16).view(2, 9, 1, 1, 1).expand(2, 9, 3, 2, 2).contiguous()
    actions = np.array([[0, 5, 5, 5, 5, 10, 10, 10, 10], [0, 1, 1, 1, 1, 2, 2, 2, 2]])
    records = [{"scene": "a grassy field", "event": "night falls", "event_start": 5},
               {"scene": "a sandy field", "event": None, "event_start": -1}]
    return LatentClips(latents, actions, records, {"speed": [4.0, 2.0, 2.0]})


def test_episode_repeats_the_start_latent_over_the_opening_chunk():
    episode = episode_latents(toy_clips().latents[0], 4)
    assert episode[:, 0, 0, 0].tolist() == [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]


def test_image_start_batches_take_the_chunk_action_and_the_event_once_started():
    clips, speed = toy_clips(), SpeedSuffix()
    seen = {}
    rng = np.random.default_rng(0)
    for _ in range(40):
        batch = sample_batch(clips, rng, 4, 4, text_start_share=0.0, prompt_share=0.0)
        k = batch.history.shape[2] // 4
        assert batch.chunk.shape == (4, 3, 4, 2, 2) and k in (1, 2)
        for chunk, caption in zip(batch.chunk, batch.captions):
            clip = int(chunk[0, 0, 0, 0]) // 9
            seen[(clip, k)] = caption
    assert seen[(0, 1)] == (caption_for_action(5, speed), None)
    assert seen[(0, 2)] == (caption_for_action(10, speed), "night falls")
    assert seen[(1, 2)] == (caption_for_action(2, speed), None)


def test_opening_share_trains_the_first_chunk_after_the_start_image():
    rng = np.random.default_rng(2)
    lengths = {sample_batch(toy_clips(), rng, 2, 4, text_start_share=0.0, prompt_share=0.0,
                            opening_share=1.0).history.shape[2] for _ in range(20)}
    assert lengths == {4}  # chunk 1: the start image's 4 latents as history
    mixed = {sample_batch(toy_clips(), rng, 2, 4, text_start_share=0.0, prompt_share=0.0,
                          opening_share=0.5).history.shape[2] for _ in range(40)}
    assert mixed == {4, 8}


def test_text_start_batches_have_no_history_and_the_scene_caption():
    batch = sample_batch(toy_clips(), np.random.default_rng(1), 3, 4, text_start_share=1.0, prompt_share=0.0)
    assert batch.history is None
    assert all(c[0] == caption_for_action(0, SpeedSuffix()) and c[1].endswith("field") for c in batch.captions)
    assert (batch.chunk == batch.chunk[:, :, :1]).all()  # the start image, repeated


def test_damaged_checkpoint_is_a_clear_error_and_missing_is_a_fresh_run(tmp_path):
    assert load_checkpoint(tmp_path / "none.safetensors") is None
    path = save_checkpoint(tmp_path / "c.safetensors", {"step": 3, "w": torch.ones(2)})
    assert load_checkpoint(path)["step"] == 3
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match="damaged"):
        load_checkpoint(path)


def test_csv_log_drops_rows_past_the_resumed_step(tmp_path):
    log = CsvLog(tmp_path / "log.csv", ["step", "loss"])
    for step in (1, 2, 3):
        log.write({"step": step, "loss": 1.0 / step})
    CsvLog(tmp_path / "log.csv", ["step", "loss"], resume_step=2).write({"step": 3, "loss": 0.25})
    assert (tmp_path / "log.csv").read_text().splitlines() == ["step,loss", "1,1", "2,0.5", "3,0.25"]

"""Gymnasium's RecordVideo and HumanRendering play a yume-gym episode at real speed: a step lasts a chunk."""

import gymnasium as gym
import pytest
from gymnasium.wrappers import HumanRendering, RecordVideo
from moviepy import VideoFileClip

import yume_gym  # noqa: F401
from yume_gym.world.bundle import build_world_model

STEPS = 7


@pytest.mark.parametrize("env_id", ["yume_gym/YumeWorld-v0", "yume_gym/ProcWorld-v0"])
def test_record_video_lasts_as_long_as_the_generated_frames(env_id, tmp_path):
    kwargs = {"checkpoint": build_world_model(frame_size=32)} if "Yume" in env_id else {"frames_per_step": 4}
    env = RecordVideo(gym.make(env_id, render_mode="rgb_array", **kwargs), str(tmp_path / "videos"),
                      disable_logger=True)
    _, info = env.reset(seed=0)
    frames = len(info["frames"])
    for _ in range(STEPS):
        frames += len(env.step(0)[4]["frames"])
    env.close()
    real_seconds = frames / env.unwrapped.metadata["video_fps"]  # 16 fps
    with VideoFileClip(str(next((tmp_path / "videos").glob("*.mp4")))) as clip:
        assert clip.duration == pytest.approx(real_seconds, abs=0.05)


def test_human_rendering_shows_one_step_per_chunk_duration():
    model = build_world_model(frame_size=32)
    env = HumanRendering(gym.make("yume_gym/YumeWorld-v0", checkpoint=model, render_mode="rgb_array"))
    assert env.metadata["render_fps"] == model.fps / model.chunk_frames  # its clock ticks once per step

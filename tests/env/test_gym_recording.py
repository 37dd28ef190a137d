"""Gymnasium's RecordVideo plays a yume-gym episode at real speed: one step lasts one chunk."""

import gymnasium as gym
import pytest
from gymnasium.wrappers import RecordVideo
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

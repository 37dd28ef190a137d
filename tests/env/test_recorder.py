"""ChunkRecorder: every generated frame reaches the MP4, the sidecar matches, crashes leave playable files."""

import json

import gymnasium as gym
import imageio_ffmpeg
import numpy as np
import pytest
from gymnasium import spaces

from yume_gym.actions import describe_action
from yume_gym.env.recorder import ChunkRecorder, draw_overlay, episode_video_path

T = 4  # frames per chunk


class FakeChunkEnv(gym.Env):
    """Follows the yume-gym step contract. Frame n of the episode is flat grey at 8 * n + 4."""

    metadata = {"render_modes": [], "render_fps": 16}

    def __init__(self, size=(32, 32), episode_steps=3, fail_at=None):
        self.size, self.episode_steps, self.fail_at = size, episode_steps, fail_at
        self.action_space = spaces.Discrete(81)
        self.observation_space = spaces.Box(0, 255, (*size, 3), np.uint8)

    def _chunk(self):
        levels = 8 * (np.arange(T) + T * self.k) + 4  # (T,)
        frames = np.broadcast_to(levels[:, None, None, None], (T, *self.size, 3)).astype(np.uint8)  # (T, H, W, 3)
        return frames[-1], {"frames": frames, "caption": f"caption {self.k}", "event": self.event, "step": self.k}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.k, self.event = 0, None
        return self._chunk()

    def step(self, action):
        self.k += 1
        if self.k == self.fail_at:
            raise RuntimeError("the generator ran out of memory")
        obs, info = self._chunk()
        info["action_id"] = int(action)
        return obs, 0.25 * self.k, False, self.k >= self.episode_steps, info

    def set_event(self, text):
        self.event = text


def count_frames(path):
    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def read_frames(path):
    """All decoded frames, (N, H, W, 3) uint8."""
    reader = imageio_ffmpeg.read_frames(str(path))
    width, height = next(reader)["size"]
    return np.stack([np.frombuffer(data, np.uint8).reshape(height, width, 3) for data in reader])


def test_records_every_frame_in_order_with_a_matching_sidecar(tmp_path):
    env = ChunkRecorder(FakeChunkEnv(episode_steps=3), tmp_path, overlay=False)
    env.reset(seed=0)
    env.unwrapped.set_event("night falls")
    actions = [5, 0, 80]
    for action in actions:
        *_, truncated, _ = env.step(action)
    assert truncated
    video = tmp_path / "episode-0000.mp4"
    assert env.video_paths == [video]
    assert count_frames(video) == 4 * T
    levels = read_frames(video).mean(axis=(1, 2, 3))  # (N,)
    assert np.allclose(levels, 8 * np.arange(4 * T) + 4, atol=2)
    sidecar = json.loads(video.with_suffix(".json").read_text())
    assert sidecar["fps"] == 16 and sidecar["frame_count"] == 4 * T and sidecar["status"] == "truncated"
    assert (sidecar["height"], sidecar["width"]) == (32, 32)
    assert sidecar["reset"] == {"frames": T, "caption": "caption 0", "event": None}
    steps = sidecar["steps"]
    assert [s["action_id"] for s in steps] == actions
    assert [s["keys"] for s in steps] == [describe_action(a) for a in actions]
    assert [s["event"] for s in steps] == ["night falls"] * 3
    assert [s["reward"] for s in steps] == [0.25, 0.5, 0.75]
    assert [s["caption"] for s in steps] == ["caption 1", "caption 2", "caption 3"]
    assert [s["first_frame"] for s in steps] == [T, 2 * T, 3 * T]
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # segments and temp files gone
    env.close()


def test_exception_mid_episode_leaves_the_chunks_so_far(tmp_path):
    env = ChunkRecorder(FakeChunkEnv(episode_steps=10, fail_at=3), tmp_path / "run.mp4")
    env.reset()
    env.step(1)
    env.step(2)
    with pytest.raises(RuntimeError, match="out of memory"):
        env.step(3)
    video = tmp_path / "run.mp4"
    assert count_frames(video) == 3 * T
    sidecar = json.loads(video.with_suffix(".json").read_text())
    assert sidecar["frame_count"] == 3 * T and len(sidecar["steps"]) == 2
    assert "out of memory" in sidecar["error"]
    env.close()
    assert json.loads(video.with_suffix(".json").read_text())["status"] == "stopped"


def test_episode_without_close_is_playable_and_publish_every_bounds_the_lag(tmp_path):
    env = ChunkRecorder(FakeChunkEnv(episode_steps=10), tmp_path, overlay=False, publish_every=2)
    env.reset()
    video = tmp_path / "episode-0000.mp4"
    assert count_frames(video) == T  # the reset chunk is published at once
    env.step(0)
    assert count_frames(video) == T
    env.step(0)
    assert count_frames(video) == 3 * T
    env.step(0)  # never closed: the file stays the complete version from the last publish
    assert count_frames(video) == 3 * T
    sidecar = json.loads(video.with_suffix(".json").read_text())
    assert sidecar["status"] == "recording" and sidecar["frame_count"] == 3 * T
    env.close()
    assert count_frames(video) == 4 * T


def test_one_video_per_episode_and_odd_frame_sizes(tmp_path):
    env = ChunkRecorder(FakeChunkEnv(size=(31, 45), episode_steps=2), tmp_path / "clip.mp4", fps=8)
    env.reset()
    env.step(0)
    env.reset()  # ends episode 0 early
    env.step(0)
    env.step(0)
    env.reset()
    env.close()
    assert env.video_paths == [tmp_path / "clip.mp4", tmp_path / "clip-0001.mp4", tmp_path / "clip-0002.mp4"]
    first, second = (json.loads(p.with_suffix(".json").read_text()) for p in env.video_paths[:2])
    assert first["status"] == "stopped" and count_frames(env.video_paths[0]) == 2 * T
    assert second["status"] == "truncated" and count_frames(env.video_paths[1]) == 3 * T
    assert (second["height"], second["width"], second["fps"]) == (32, 46, 8)
    assert read_frames(env.video_paths[1]).shape == (3 * T, 32, 46, 3)


def test_overlay_draws_keys_and_event():
    frame = np.full((64, 96, 3), 100, np.uint8)
    drawn = draw_overlay(frame, "W+A ←", "a storm rolls in over the hills and far away")
    changed = np.any(drawn != frame, axis=-1)  # (H, W)
    assert changed[:16].any() and changed[-16:].any() and not changed[24:40].any()
    assert np.array_equal(draw_overlay(frame, None, None), frame)


def test_naming_and_argument_errors(tmp_path):
    assert episode_video_path(tmp_path, 3) == tmp_path / "episode-0003.mp4"
    assert episode_video_path(tmp_path / "a.mp4", 0) == tmp_path / "a.mp4"
    assert episode_video_path(tmp_path / "a.mp4", 12) == tmp_path / "a-0012.mp4"
    env = FakeChunkEnv()
    env.metadata = {"render_modes": []}
    with pytest.raises(ValueError, match="render_fps"):
        ChunkRecorder(env, tmp_path)
    with pytest.raises(ValueError, match="fps -1"):
        ChunkRecorder(FakeChunkEnv(), tmp_path, fps=-1)
    with pytest.raises(ValueError, match="publish_every 0"):
        ChunkRecorder(FakeChunkEnv(), tmp_path, publish_every=0)


def test_max_frames_ends_the_recording_and_bounds_what_is_written(tmp_path):
    env = ChunkRecorder(FakeChunkEnv(episode_steps=50), tmp_path, overlay=False, max_frames=3 * T)
    env.reset(seed=0)
    for _ in range(5):
        env.step(0)
    assert not env.recording and env.frames_recorded == 3 * T
    sidecar = json.loads(episode_video_path(tmp_path, 0).with_suffix(".json").read_text())
    assert sidecar["status"] == "frame limit" and sidecar["frame_count"] == 3 * T
    assert count_frames(episode_video_path(tmp_path, 0)) == 3 * T
    assert not list(tmp_path.glob(".*.segments"))
    with pytest.raises(ValueError, match="max_frames 0 must be a positive integer"):
        ChunkRecorder(FakeChunkEnv(), tmp_path, max_frames=0)

"""ChunkRecorder.set_recording: switch recording off and on mid-episode; each run is its own video."""

import json

import imageio_ffmpeg
from play_support import small_model

from yume_gym.env.single import YumeWorldEnv
from yume_gym.env.recorder import ChunkRecorder


def sidecar(path):
    return json.loads(path.with_suffix(".json").read_text())


def test_switching_off_and_on_mid_episode(tmp_path):
    env = ChunkRecorder(YumeWorldEnv(checkpoint=small_model()), tmp_path, overlay=False)
    chunk = env.unwrapped.model.chunk_frames
    assert env.recording
    env.reset(seed=0, options={"prompt": "a field"})
    env.step(9)
    env.set_recording(False)
    assert not env.recording
    first = tmp_path / "episode-0000.mp4"
    assert sidecar(first)["status"] == "stopped" and len(sidecar(first)["steps"]) == 1
    env.step(9)  # not recorded
    env.set_recording(True)
    env.set_recording(True)  # already on: nothing changes
    env.step(2)
    env.step(2)
    env.close()
    second = tmp_path / "episode-0001.mp4"
    record = sidecar(second)
    assert record["reset"] is None and [s["action_id"] for s in record["steps"]] == [2, 2]
    assert [s["step"] for s in record["steps"]] == [3, 4]
    assert imageio_ffmpeg.count_frames_and_secs(str(second))[0] == record["frame_count"] == 2 * chunk
    assert env.video_paths == [first, second]


def test_off_before_reset_records_nothing(tmp_path):
    env = ChunkRecorder(YumeWorldEnv(checkpoint=small_model()), tmp_path, overlay=False)
    env.set_recording(False)
    env.reset(seed=0)
    env.step(0)
    env.close()
    assert list(tmp_path.iterdir()) == [] and env.video_paths == []

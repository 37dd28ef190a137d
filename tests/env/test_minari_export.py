"""Recorded episodes round-trip through a Minari dataset: what the env returned is what loads."""

import gymnasium as gym
import numpy as np
import pytest

import yume_gym  # noqa: F401
from yume_gym.env.minari_export import export_minari
from yume_gym.env.recorder import ChunkRecorder
from yume_gym.world.bundle import build_world_model

minari = pytest.importorskip("minari", reason='minari is not installed: pip install "yume-gym[offline]"')

ACTIONS = [[9, 3, 12], [0, 40]]


@pytest.fixture
def recordings(tmp_path):
    """Two episodes (the first ends by its time limit) and what the env gave at each step."""
    env = gym.make("yume_gym/YumeWorld-v0", checkpoint=build_world_model(frame_size=32), max_episode_steps=3,
                   reward_fn=lambda frames, info: float(frames.mean()) / 255)  # fmt: skip
    env = ChunkRecorder(env, tmp_path / "videos", overlay=False)
    seen = []
    for seed, actions in enumerate(ACTIONS):
        obs, info = env.reset(seed=seed, options={"events": [(2, "night falls")]})
        episode = {"obs": [obs], "rewards": [], "truncated": [], "events": [info["event"]]}
        for action in actions:
            obs, reward, _, truncated, info = env.step(action)
            episode["obs"].append(obs)
            episode["rewards"].append(reward)
            episode["truncated"].append(truncated)
            episode["events"].append(info["event"])
        seen.append(episode)
    env.close()
    return tmp_path / "videos", seen


def test_minari_round_trip(recordings, tmp_path, monkeypatch):
    folder, seen = recordings
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    export_minari(folder, "yume_gym/test-walks-v0", description="two test walks")
    dataset = minari.load_dataset("yume_gym/test-walks-v0")
    assert dataset.total_episodes == 2 and dataset.total_steps == 5
    assert dataset.action_space == gym.spaces.Discrete(81)
    for episode, expected, actions in zip(dataset.iterate_episodes(), seen, ACTIONS):
        assert list(episode.actions) == actions
        assert np.allclose(episode.rewards, expected["rewards"])
        assert list(episode.truncations) == expected["truncated"] and not episode.terminations.any()
        assert episode.observations.shape == (len(actions) + 1, 32, 32, 3)
        got, want = episode.observations.astype(int), np.stack(expected["obs"]).astype(int)
        errors = np.abs(got[:, None] - want[None]).mean(axis=(2, 3, 4))  # (N + 1, N + 1)
        assert (errors.argmin(axis=1) == np.arange(len(want))).all()  # each is its own step's frame
        assert errors.diagonal().max() < 20  # up to H.264's loss on these random-weight (noisy) frames
        assert [e or None for e in episode.infos["event"]] == expected["events"]
        assert "frames" not in episode.infos and list(episode.infos["step"]) == list(range(len(actions) + 1))


def test_bad_recordings_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="no recorded episodes"):
        export_minari(tmp_path, "yume_gym/none-v0")
    (tmp_path / "lone.mp4").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="JSON sidecar"):
        export_minari(tmp_path / "lone.mp4", "yume_gym/none-v0")


def test_export_minari_command(recordings, tmp_path, monkeypatch, capsys):
    from yume_gym.commands.cli import main

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    monkeypatch.chdir(tmp_path)
    assert main(["export", "minari"]) == 2  # the default folder of `yume-gym play` recordings is absent
    assert "no recorded episodes (--recordings) at 'captures/recordings'" in capsys.readouterr().err
    folder, _ = recordings
    assert main(["export", "minari", "--recordings", str(folder), "--dataset-id", "yume_gym/cli-walks-v0"]) == 0
    assert "wrote 2 episodes, 5 steps" in capsys.readouterr().out
    assert minari.load_dataset("yume_gym/cli-walks-v0").total_steps == 5

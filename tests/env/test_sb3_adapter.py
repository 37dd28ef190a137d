"""The stable-baselines3 adapter: episode statistics for PPO's logs, and ``indices`` honoured."""

import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.logger import configure

from yume_gym.env.sb3 import YumeWorldSB3VecEnv

OBS = 40  # SB3's NatureCNN needs at least 36x36


def test_ending_steps_report_the_episode_return_and_length(model):
    venv = YumeWorldSB3VecEnv(num_envs=2, checkpoint=model, frame_size=OBS, max_episode_steps=3,
                              reward_fn=lambda frames, info: 0.5)  # fmt: skip
    venv.reset()
    for _ in range(2):
        *_, infos = venv.step(np.array([1, 2]))
        assert all("episode" not in info for info in infos)
    *_, dones, infos = venv.step(np.array([1, 2]))
    assert dones.all()
    assert [(info["episode"]["r"], info["episode"]["l"]) for info in infos] == [(1.5, 3), (1.5, 3)]
    *_, infos = venv.step(np.array([1, 2]))  # a new episode counts from zero
    assert all("episode" not in info for info in infos)


def test_ppo_logs_the_mean_episode_reward(model, tmp_path):
    venv = YumeWorldSB3VecEnv(num_envs=2, checkpoint=model, frame_size=OBS, max_episode_steps=2)
    agent = PPO("CnnPolicy", venv, n_steps=4, batch_size=8, n_epochs=1, seed=0, device="cpu", verbose=1)
    agent.set_logger(configure(str(tmp_path), ["csv"]))
    agent.learn(total_timesteps=8)
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    assert "rollout/ep_rew_mean" in header and "rollout/ep_len_mean" in header


def test_env_method_set_event_reaches_only_the_given_rows(model):
    venv = YumeWorldSB3VecEnv(num_envs=3, checkpoint=model, frame_size=OBS)
    venv.reset()
    venv.env_method("set_event", "night falls", indices=[0])
    *_, infos = venv.step(np.zeros(3, dtype=int))
    assert [info["event"] for info in infos] == ["night falls", None, None]
    snapshots = venv.env_method("get_state", indices=[2])
    assert len(snapshots) == 1 and snapshots[0] is not None


def test_shared_attributes_refuse_a_subset_of_rows(model):
    venv = YumeWorldSB3VecEnv(num_envs=2, checkpoint=model, frame_size=OBS)
    assert venv.get_attr("max_episode_steps", indices=[1]) == [None]
    assert len(venv.get_attr("render_mode", indices=[0, 1])) == 2
    with pytest.raises(ValueError, match=r"shared by every row.*without indices.*\[1\]"):
        venv.set_attr("max_episode_steps", 5, indices=[1])
    venv.set_attr("max_episode_steps", 5)
    assert venv.venv.max_episode_steps == 5
    with pytest.raises(ValueError, match=r"close\(\) acts on every row.*without indices"):
        venv.env_method("close", indices=[0])

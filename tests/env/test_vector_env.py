"""The batched vector env, its autoreset modes, and the stable-baselines3 adapter (with PPO)."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import yume_gym  # noqa: F401
from yume_gym.env.single import YumeWorldEnv
from yume_gym.env.sb3 import YumeWorldSB3VecEnv
from yume_gym.env.vector import YumeWorldVectorEnv
from yume_gym.world.bundle import build_world_model, save_world_model

SIZE = 32
OBS = 40  # SB3's NatureCNN needs at least 36x36


@pytest.fixture(scope="module")
def model():
    return build_world_model(frame_size=SIZE, live_head=True)


def test_make_vec_uses_the_batched_entry_point(model, tmp_path):
    path = str(save_world_model(model, tmp_path / "tiny"))
    envs = gym.make_vec("yume_gym/YumeWorld-v0", num_envs=3, checkpoint=path, frame_size=OBS)
    assert isinstance(envs, YumeWorldVectorEnv) and envs.max_episode_steps == 100
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, OBS, OBS, 3) and obs in envs.observation_space
    obs, rewards, terminated, truncated, infos = envs.step(np.array([1, 2, 3]))
    assert obs.shape == (3, OBS, OBS, 3) and rewards.shape == terminated.shape == truncated.shape == (3,)
    assert infos["frames"].shape == (3, model.chunk_frames, SIZE, SIZE, 3)
    assert list(infos["action_id"]) == [1, 2, 3] and list(infos["step"]) == [1, 1, 1]


def test_a_row_steps_like_the_single_env(model):
    """Same world state, same action: the vector env's row and the single env agree."""
    single = YumeWorldEnv(checkpoint=model)
    single.reset(seed=3, options={"prompt": "a desert road"})
    envs = YumeWorldVectorEnv(2, checkpoint=model)
    envs.reset(seed=0)
    envs.set_state(1, single.get_state()["world"])
    expected = single.step(12)[4]["frames"]
    got = envs.step([0, 12])[4]["frames"][1]
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1


def test_reset_seed_starts_row_i_on_seed_plus_i_like_sync_vector_env(model):
    """Rows open on the worlds the single env opens on with seeds s, s + 1, ...; a list names them."""
    envs = YumeWorldVectorEnv(3, checkpoint=model, frame_size=SIZE)
    single = YumeWorldEnv(checkpoint=model)
    obs, _ = envs.reset(seed=20, options={"prompt": "a desert road"})
    singles = [single.reset(seed=20 + i, options={"prompt": "a desert road"})[0] for i in range(3)]
    assert all(np.array_equal(obs[i], singles[i]) for i in range(3))
    assert not np.array_equal(singles[0], singles[1])
    listed, _ = envs.reset(seed=[22, 20, 21], options={"prompt": "a desert road"})
    assert np.array_equal(listed, obs[[2, 0, 1]])
    with pytest.raises(ValueError, match=r"seed \[1, 2\] must be .* a list of 3"):
        envs.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="seed -1"):
        envs.reset(seed=-1)


def test_vector_env_is_deterministic(model):
    def run():
        envs = YumeWorldVectorEnv(2, checkpoint=model)
        envs.reset(seed=11)
        return np.stack([envs.step([5, 50])[4]["frames"] for _ in range(2)])

    assert np.array_equal(run(), run())


def test_next_step_autoreset(model):
    envs = YumeWorldVectorEnv(2, checkpoint=model, max_episode_steps=2)
    envs.reset(seed=0)
    envs.step([1, 1])
    _, _, terminated, truncated, infos = envs.step([1, 1])
    assert truncated.all() and not terminated.any() and list(infos["step"]) == [2, 2]
    _, rewards, _, truncated, infos = envs.step([1, 1])  # both rows restart; actions ignored
    assert list(infos["step"]) == [0, 0] and not truncated.any() and (rewards == 0).all()
    assert list(envs.step([1, 1])[4]["step"]) == [1, 1]


def test_same_step_autoreset_reports_the_final_observation(model):
    envs = YumeWorldVectorEnv(2, checkpoint=model, max_episode_steps=1, autoreset_mode="SameStep")
    envs.reset(seed=0)
    obs, _, _, truncated, infos = envs.step([1, 1])
    assert truncated.all() and list(infos["step"]) == [0, 0]
    assert infos["final_obs"][0].shape == obs[0].shape and list(infos["final_info"]["step"]) == [1, 1]


class StepCounter:
    """A stateful reward: the number of steps since its last reset(frames)."""

    def __init__(self):
        self.count = 0

    def reset(self, frames):
        assert frames.ndim == 4 and frames.dtype == np.uint8
        self.count = 0

    def __call__(self, frames, info):
        self.count += 1
        return float(self.count)


def test_stateful_rewards_are_per_row_and_reset_per_episode(model):
    envs = YumeWorldVectorEnv(2, checkpoint=model, reward_fn=StepCounter(), max_episode_steps=2)
    envs.reset(seed=0)
    assert list(envs.step([0, 0])[1]) == [1.0, 1.0]  # each row counts its own steps
    assert list(envs.step([0, 0])[1]) == [2.0, 2.0]
    envs.step([0, 0])  # autoreset: both rows start a new episode and their rewards reset
    assert list(envs.step([0, 0])[1]) == [1.0, 1.0]


def test_vector_env_bad_inputs(model):
    envs = YumeWorldVectorEnv(2, checkpoint=model)
    with pytest.raises(RuntimeError, match="reset"):
        envs.step([0, 0])
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="2 envs"):
        envs.step([0])
    with pytest.raises(ValueError, match="action"):
        envs.step([0, 99])
    with pytest.raises(ValueError, match="autoreset_mode"):
        YumeWorldVectorEnv(2, checkpoint=model, autoreset_mode=AutoresetMode.DISABLED)


def test_sb3_adapter_and_a_few_ppo_updates(model):
    from stable_baselines3 import PPO

    venv = YumeWorldSB3VecEnv(num_envs=2, checkpoint=model, frame_size=OBS, max_episode_steps=3)
    obs = venv.reset()
    assert obs.shape == (2, OBS, OBS, 3)
    for _ in range(3):
        obs, rewards, dones, infos = venv.step(np.array([1, 2]))
    assert dones.all() and rewards.dtype == np.float32
    assert infos[0]["terminal_observation"].shape == (OBS, OBS, 3) and infos[0]["TimeLimit.truncated"]
    agent = PPO("CnnPolicy", venv, n_steps=4, batch_size=8, n_epochs=1, seed=0, device="cpu")
    agent.learn(total_timesteps=16)  # two rollouts of 2 envs x 4 steps, two updates
    assert agent.num_timesteps == 16
    action, _ = agent.predict(obs, deterministic=True)
    assert action.shape == (2,)

"""Saved PPO agents load without unpickling: a planted pickle never runs, weights round-trip."""

import base64
import json
import os
import pickle
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO

from agents.ppo_file import load_ppo


class ImageEnv(gym.Env):
    observation_space = spaces.Box(0, 255, (3, 36, 36), np.uint8)
    action_space = spaces.Discrete(9)

    def reset(self, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


class RunsCode:
    """Pickles as a call to os.mkdir: unpickling it would create a folder."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("agent") / "agent.zip"
    PPO("CnnPolicy", ImageEnv(), n_steps=8, batch_size=8, device="cpu").save(path)
    return path


def rewritten(path, out, change):
    """A copy of the saved agent at ``out`` whose data JSON went through ``change``."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members["data"])
    change(data)
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out


def test_a_saved_agent_loads_with_its_weights_and_spaces(saved):
    agent = load_ppo(saved)
    original = PPO("CnnPolicy", ImageEnv(), device="cpu")
    original.set_parameters(str(saved))
    assert agent.observation_space == ImageEnv.observation_space and agent.action_space == spaces.Discrete(9)
    for (name, a), b in zip(agent.policy.state_dict().items(), original.policy.state_dict().values()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("key, refused", [("policy_class", False), ("lr_schedule", False),
                                          ("observation_space", True), ("policy_kwargs", True), ("ent_coef", True)])
def test_a_planted_pickle_never_runs(saved, tmp_path, key, refused):
    marker = tmp_path / "ran"
    payload = base64.b64encode(pickle.dumps(RunsCode(str(marker)))).decode()

    def plant(data):
        data[key] = {":type:": "<class 'gymnasium.spaces.box.Box'>", ":serialized:": payload}

    path = rewritten(saved, tmp_path / "evil.zip", plant)
    if refused:
        with pytest.raises(ValueError, match=rf"pickled \['{key}'\]|cannot read its {key}"):
            load_ppo(path)
    else:  # replaced by the class or schedule our agents use, never unpickled
        assert load_ppo(path).action_space == spaces.Discrete(9)
    assert not marker.exists()


def test_not_an_agent_is_a_clear_error(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a saved PPO agent"):
        load_ppo(tmp_path / "x.zip")

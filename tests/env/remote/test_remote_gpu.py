"""On a GPU machine a server takes one GPU and runs its model there."""

import gymnasium as gym
import pytest
import torch

import yume_gym  # noqa: F401
from yume_gym.env.remote.pool import start_servers


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_server_takes_a_gpu_when_the_cluster_has_one(ray_session, server_settings):
    pool = start_servers(1, rows=2, name="test-gpu-server", **server_settings)
    env = gym.make("yume_gym/YumeWorld-v0", server=pool)
    env.reset(seed=0)
    assert env.step(9)[4]["step"] == 1
    assert "cuda" in ray_session.get(pool.servers[0].actor.device.remote())
    pool.shutdown()

"""``return_frames=False``: no info["frames"] copy, and no decoding when nothing needs frames."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import yume_gym  # noqa: F401  (registers the ids)
from yume_gym.env.single import YumeWorldEnv
from yume_gym.env.vector import YumeWorldVectorEnv
from yume_gym.world.bundle import build_world_model

MODEL = build_world_model(frame_size=32, live_head=True)
PROMPT = {"prompt": "a beach"}


def _rollout(**kwargs):
    env = YumeWorldEnv(checkpoint=MODEL, **kwargs)
    first = env.reset(seed=3, options=PROMPT)
    return env, first, [env.step(a) for a in (9, 10, 0)]


def test_frame_observations_are_unchanged_without_info_frames(monkeypatch):
    decoded = []
    decode = MODEL.codec.decode
    monkeypatch.setattr(MODEL.codec, "decode", lambda latents: (decoded.append(latents.shape[2]), decode(latents))[1])
    _, (obs0, info0), steps = _rollout(return_frames=False)
    assert decoded == [1] * 4  # the codec decodes latents separately: only the last one, for the last frame
    _, (ref0, ref_info0), ref_steps = _rollout()
    assert "frames" not in info0 and "frames" in ref_info0
    assert np.array_equal(obs0, ref0)
    for (obs, _, _, _, info), (ref, _, _, _, ref_info) in zip(steps, ref_steps):
        assert "frames" not in info and np.array_equal(obs, ref)
        assert info["caption"] == ref_info["caption"]


def test_latent_observations_skip_decoding(monkeypatch):
    decoded = []
    decode = MODEL.codec.decode
    monkeypatch.setattr(MODEL.codec, "decode", lambda latents: (decoded.append(1), decode(latents))[1])
    env, _, steps = _rollout(return_frames=False, observation="latent")
    assert decoded == []  # the opening chunk and three steps, none decoded
    _, _, ref_steps = _rollout(observation="latent")
    assert len(decoded) == 4
    for (obs, *_), (ref, *_) in zip(steps, ref_steps):
        assert np.array_equal(obs, ref)
    with pytest.raises(RuntimeError, match="no frames were decoded .* pass render_mode='rgb_array'"):
        env.core.render(0)


def test_every_world_model_id_and_the_vector_env_accept_it():
    env = gym.make("yume_gym/YumeWorld-v0", checkpoint=MODEL, return_frames=False)
    assert "frames" not in env.reset(seed=0, options=PROMPT)[1]
    envs = YumeWorldVectorEnv(2, checkpoint=MODEL, return_frames=False)
    envs.reset(seed=0, options=PROMPT)
    obs, _, _, _, infos = envs.step(np.array([9, 0]))
    assert obs.shape == (2, 32, 32, 3) and "frames" not in infos
    with pytest.raises(ValueError, match=r"decode='some' is not known; use one of \['all', 'last', 'none'\]"):
        envs.core.world.advance([0], [0], decode="some")
    with pytest.raises(TypeError, match="return_frames='no' must be True or False"):
        YumeWorldEnv(checkpoint=MODEL, return_frames="no")

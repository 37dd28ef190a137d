"""A bfloat16 world feeds the released schedule's timesteps, and its time embedding, modulation
and head compute in float32, as the released inference does."""

from __future__ import annotations

import copy

import torch

from yume_gym.sampling import RELEASED_SCHEDULE
from yume_gym.world.batch import WorldBatch, WorldStart
from yume_gym.world.bundle import build_world_model


def test_bf16_world_feeds_the_schedules_float_timesteps():
    model = build_world_model(frame_size=32, live_head=True, dtype=torch.bfloat16)
    seen: list[torch.Tensor] = []
    hook = model.generator.register_forward_pre_hook(lambda module, args: seen.append(args[1].clone()))
    try:
        WorldBatch(model).start([0], [WorldStart(seed=0, prompt="a beach")])  # a text start samples one chunk
    finally:
        hook.remove()
    assert [t.dtype for t in seen] == [torch.float32] * 4
    received = torch.stack(seen)[:, 0]  # (steps,)
    assert torch.equal(received, RELEASED_SCHEDULE.timesteps().float())
    assert [round(float(t), 2) for t in received] == [1000.0, 954.55, 875.0, 700.0]


def test_time_embedding_and_head_run_in_float32_under_bf16():
    bf16 = build_world_model(frame_size=32, live_head=True, dtype=torch.bfloat16).generator
    fp32 = copy.deepcopy(bf16).float()  # the same (bf16-rounded) weights, held in float32
    timestep = torch.tensor([954.5454])
    e_bf16, e0_bf16 = bf16._time_modulation(timestep, n_hist=3, n_chunk=5)
    e_fp32, e0_fp32 = fp32._time_modulation(timestep, n_hist=3, n_chunk=5)
    assert e_bf16.dtype == e0_bf16.dtype == torch.float32
    torch.testing.assert_close(e_bf16, e_fp32, rtol=0, atol=0)
    torch.testing.assert_close(e0_bf16, e0_fp32, rtol=0, atol=0)
    tokens = torch.randn(1, 5, bf16.config.dim)  # (B, N, dim) float32 stream
    out_bf16, out_fp32 = bf16.head(tokens, e_bf16), fp32.head(tokens, e_fp32)
    assert out_bf16.dtype == torch.float32
    torch.testing.assert_close(out_bf16, out_fp32, rtol=0, atol=0)

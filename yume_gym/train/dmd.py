"""The pieces of self-forcing distillation with distribution matching (DMD), as functions.

Time convention: sigma = 1 is noise, 0 is data; the model's timestep is 1000 * sigma and it
predicts the velocity v = noise - x0, so x0 = x_sigma - sigma * v.

- :func:`student_sample`: the few-step Euler sampler of inference, with gradients only at one
  exit step; the exit step's x0 prediction is the sample that DMD trains (every step must map
  its input to a realistic chunk).
- :func:`dmd_loss`: the generator loss 0.5 * ||x - sg(x - g)||^2 with the DMD gradient
  g = (x0_fake - x0_real) / mean|x - x0_real|, both scores evaluated at one random noise level.
- :func:`guided_velocity`: classifier-free guidance of the real score (zero context = no text).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from yume_gym.sampling import NUM_TRAIN_TIMESTEPS, FlowSchedule, add_noise, combine_guided

VelocityFn = Callable[[Tensor, Tensor], Tensor]  # (x (B, ...), timestep (B,)) -> velocity


def student_sample(velocity_fn: VelocityFn, noise: Tensor, schedule: FlowSchedule, exit_step: int) -> Tensor:
    """x0 predicted at step ``exit_step`` (0-based) of the Euler sampler, with gradients from that
    step only; earlier steps run without gradients. With ``exit_step = steps - 1`` this is the
    sampler's output."""
    if not 0 <= exit_step < schedule.steps:
        raise ValueError(f"exit_step={exit_step} must be in 0..{schedule.steps - 1}")
    sigmas = schedule.sigmas().tolist()
    b = noise.shape[0]
    x = noise
    with torch.no_grad():
        for i in range(exit_step):
            t = torch.full((b,), NUM_TRAIN_TIMESTEPS * sigmas[i], device=x.device)
            x = x + (sigmas[i + 1] - sigmas[i]) * velocity_fn(x, t)
    t = torch.full((b,), NUM_TRAIN_TIMESTEPS * sigmas[exit_step], device=x.device)
    return x - sigmas[exit_step] * velocity_fn(x, t)


def guided_velocity(model: Callable[..., Tensor], x: Tensor, t: Tensor, context: Tensor,
                    history: Tensor | None, scale: float) -> Tensor:
    """v_uncond + scale * (v_cond - v_uncond) of ``model(x, t, context, history)``, both halves in
    one batched call; the unconditional half reads a zero context. Scale 1 is no guidance."""
    if scale == 1.0:
        return model(x, t, context, history)
    doubled = None if history is None else torch.cat([history, history])
    both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([context, torch.zeros_like(context)]), doubled)
    return combine_guided(both, scale)


def dmd_loss(x: Tensor, real_velocity: VelocityFn, fake_velocity: VelocityFn, sigma: Tensor,
             noise: Tensor) -> tuple[Tensor, dict[str, float]]:
    """The DMD generator loss for samples ``x`` (B, ...) at noise levels ``sigma`` (B,).

    Both scores run without gradients; returns the loss and diagnostics.
    """
    with torch.no_grad():
        x_sigma = add_noise(x.detach(), noise, sigma)
        t = NUM_TRAIN_TIMESTEPS * sigma
        s = sigma.reshape(-1, *([1] * (x.ndim - 1)))
        x0_real = x_sigma - s * real_velocity(x_sigma, t)
        x0_fake = x_sigma - s * fake_velocity(x_sigma, t)
        scale = (x.detach() - x0_real).abs().mean(dim=tuple(range(1, x.ndim)), keepdim=True).clamp_min(1e-6)
        grad = (x0_fake - x0_real) / scale
        target = (x - grad).detach()
    loss = 0.5 * torch.mean((x.float() - target.float()) ** 2)
    return loss, {"dmd_grad": float(grad.abs().mean())}

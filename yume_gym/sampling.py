"""Flow-matching schedules, the rectified-flow training loss and the few-step Euler sampler.

Time convention (as in Wan and Yume): sigma = 1 is pure noise, sigma = 0 is data. A noisy latent
is ``x_sigma = (1 - sigma) * x0 + sigma * noise`` and the network predicts the velocity
``v = noise - x0``, conditioned on the timestep ``t = 1000 * sigma``. The sampler never imports
the network: it takes any callable ``velocity_fn(x, t) -> v``.

>>> [round(float(t), 2) for t in FlowSchedule(steps=4, shift=7.0).timesteps()]
[1000.0, 954.55, 875.0, 700.0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

VelocityFn = Callable[[Tensor, Tensor], Tensor]
NUM_TRAIN_TIMESTEPS = 1000
TIMESTEP_DTYPE = torch.float32  # timesteps never take the latents' dtype: bf16 turns 954.55 into 956
MAX_STEPS = NUM_TRAIN_TIMESTEPS  # one sampling step per training timestep at most


def shift_sigma(sigma: Tensor, shift: float) -> Tensor:
    """Warp noise levels towards the noisy end: ``s * sigma / (1 + (s - 1) * sigma)``."""
    return shift * sigma / (1 + (shift - 1) * sigma)


@dataclass(frozen=True)
class FlowSchedule:
    """An Euler flow-matching schedule of ``steps`` steps with a timestep ``shift``.

    The released distilled Yume-1.5 samples with 4 steps and shift 7
    (t = 1000, 954.55, 875, 700); the foundation (teacher) model with 50 steps and shift 5.
    """

    steps: int = 4
    shift: float = 7.0

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_STEPS:
            raise ValueError(f"steps={self.steps!r} must be an integer in 1..{MAX_STEPS}")
        if not 0 < self.shift < 1e6:
            raise ValueError(f"shift={self.shift!r} must be a positive finite number")

    def sigmas(self) -> Tensor:
        """The ``steps + 1`` shifted noise levels, from 1 down to 0 (float64)."""
        base = torch.linspace(1.0, 0.0, self.steps + 1, dtype=torch.float64)[: self.steps]
        return torch.cat([shift_sigma(base, self.shift), torch.zeros(1, dtype=torch.float64)])

    def timesteps(self) -> Tensor:
        """The ``steps`` model timesteps ``1000 * sigma`` (float64)."""
        return NUM_TRAIN_TIMESTEPS * self.sigmas()[:-1]


RELEASED_SCHEDULE = FlowSchedule(steps=4, shift=7.0)
TEACHER_SCHEDULE = FlowSchedule(steps=50, shift=5.0)


@torch.no_grad()
def sample(velocity_fn: VelocityFn, noise: Tensor, schedule: FlowSchedule = RELEASED_SCHEDULE) -> Tensor:
    """Integrate the flow from ``noise`` (sigma = 1) to data (sigma = 0) with Euler steps.

    ``velocity_fn(x, t)`` gets ``x`` shaped like ``noise`` and ``t`` of shape (B,) in float32
    whatever the dtype of ``noise`` (as the release feeds them); it returns the velocity, shaped
    like ``x``.
    """
    sigmas = schedule.sigmas().tolist()
    x = noise
    for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:]):
        t = torch.full((x.shape[0],), NUM_TRAIN_TIMESTEPS * sigma, dtype=TIMESTEP_DTYPE, device=x.device)
        velocity = velocity_fn(x, t)
        if velocity.shape != x.shape:
            raise ValueError(f"velocity_fn returned shape {tuple(velocity.shape)}; expected {tuple(x.shape)}")
        x = x + (sigma_next - sigma) * velocity
    return x


def combine_guided(velocities: Tensor, *scales: float | Tensor) -> Tensor:
    """Guidance from K negatives: ``velocities`` is [conditional; negative_1; ...; negative_K]
    along the batch ((1 + K) B, ...); returns (B, ...) ``cond + sum_k (s_k - 1) (cond - neg_k)``.

    Each scale is a number or a (B,) tensor of per-row scales; scale 1 leaves its term out. With
    one negative of no text this is classifier-free guidance, ``uncond + s (cond - uncond)``.
    """
    if not scales:
        raise ValueError("combine_guided needs at least one scale (one per negative)")
    cond, *negatives = velocities.chunk(1 + len(scales))
    if any(neg.shape != cond.shape for neg in negatives):
        raise ValueError(f"velocities of shape {tuple(velocities.shape)} do not split into {1 + len(scales)} "
                         "equal parts: stack the conditional batch and one copy per negative")
    guided = cond
    for scale, neg in zip(scales, negatives):
        if isinstance(scale, Tensor):
            scale = scale.reshape(-1, *([1] * (cond.ndim - 1)))  # (B, 1, ...)
        guided = guided + (scale - 1) * (cond - neg)
    return guided


def noise_like(shape: tuple[int, ...], generators: list[torch.Generator], dtype=torch.float32,
               device: torch.device | str = "cpu") -> Tensor:
    """Gaussian noise of ``shape`` = (B, ...) with row ``b`` drawn from ``generators[b]``.

    One generator per batch row keeps each world reproducible whatever else shares its batch.
    """
    if len(generators) != shape[0]:
        raise ValueError(f"got {len(generators)} generators for a batch of {shape[0]}; pass one per row")
    rows = [torch.randn(shape[1:], generator=g, dtype=torch.float32, device=g.device) for g in generators]
    return torch.stack(rows).to(device=device, dtype=dtype)


def add_noise(x0: Tensor, noise: Tensor, sigma: Tensor) -> Tensor:
    """``(1 - sigma) * x0 + sigma * noise`` with ``sigma`` of shape (B,) broadcast over the rest."""
    s = sigma.reshape(-1, *([1] * (x0.ndim - 1))).to(x0.dtype)
    return (1 - s) * x0 + s * noise


def sample_training_sigmas(batch: int, shift: float = 5.0, mean: float = 0.0, std: float = 1.0,
                           generator: torch.Generator | None = None) -> Tensor:
    """Training noise levels: logit-normal(mean, std), then shifted like the sampling schedule.

    Returns (B,) float32 in (0, 1).
    """
    logits = torch.randn(batch, generator=generator) * std + mean
    return shift_sigma(torch.sigmoid(logits), shift).float()


def flow_matching_loss(velocity_fn: VelocityFn, x0: Tensor, sigma: Tensor, noise: Tensor) -> Tensor:
    """Rectified-flow loss: MSE between the predicted and the true velocity ``noise - x0``."""
    x_sigma = add_noise(x0, noise, sigma)
    target = noise - x0
    prediction = velocity_fn(x_sigma, NUM_TRAIN_TIMESTEPS * sigma.to(TIMESTEP_DTYPE))
    return torch.mean((prediction.float() - target.float()) ** 2)

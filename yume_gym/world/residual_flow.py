"""Residual flow: the flow runs on a chunk's change from the last history latent.

A model trained with ``--residual`` runs the flow on ``(chunk - last) / scale``, so a model
unsure of what comes next keeps what it was shown; chunks without history stay absolute.
Why, and where the scale comes from: docs/architecture.md.

>>> import torch
>>> chunk, history = torch.randn(2, 4, 3, 8, 8), torch.randn(2, 4, 5, 8, 8)
>>> x = to_flow_space(chunk, history, 0.5)
>>> torch.allclose(from_flow_space(x, history, 0.5), chunk, atol=1e-6)
True
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor


def _last_latent(history: Tensor) -> Tensor:
    """(B, C, H, h, w) history -> (B, C, 1, h, w): its latest latent, broadcast over a chunk."""
    return history[:, :, -1:]


def to_flow_space(chunk: Tensor, history: Tensor | None, scale: float | None) -> Tensor:
    """(B, C, F, h, w) clean chunk latents -> what the flow runs on (same shape).

    ``scale`` None (the release) or ``history`` None (a text start) leaves the chunk as it is.
    """
    if scale is None or history is None:
        return chunk
    return (chunk - _last_latent(history)) / scale


def from_flow_space(x: Tensor, history: Tensor | None, scale: float | None) -> Tensor:
    """Undo :func:`to_flow_space`: a sample ``x`` (B, C, F, h, w) -> chunk latents."""
    if scale is None or history is None:
        return x
    return _last_latent(history) + scale * x


def measure_residual_scale(batches: Iterable[tuple[Tensor, Tensor]]) -> float:
    """The standard deviation of ``chunk - last history latent`` over (chunk, history) pairs
    of shapes (B, C, F, h, w) and (B, C, H, h, w)."""
    total, squares, count = 0.0, 0.0, 0
    for chunk, history in batches:
        change = (chunk - _last_latent(history)).double()
        total, squares, count = total + change.sum().item(), squares + (change**2).sum().item(), count + change.numel()
    if count == 0:
        raise ValueError("measure_residual_scale needs at least one (chunk, history) batch")
    mean = total / count
    return float((squares / count - mean**2) ** 0.5)

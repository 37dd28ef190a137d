"""Guidance terms: push each chunk toward a part of its caption and away from the caption without it.

Unlike classifier-free guidance, which compares the caption with no text at all, each term
(movement, rotation, event) compares the caption with the same caption missing one part, and
costs one more batched generator pass per sampling step while active.
The terms and the guided velocity: docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from yume_gym.actions import action_id, split_action
from yume_gym.events import scene_text

Caption = tuple[str, str | None]  # (action text, prompt and event text or None)


@dataclass(frozen=True)
class GuidanceTerm:
    """One guidance term over a batch of n rows."""

    negative: Tensor  # (n, L, D) the context each row is pushed away from
    scales: Tensor  # (n,) the term's scale per row (1: the row leaves it out)

    def rows(self, index: Sequence[int]) -> GuidanceTerm:
        """The term restricted to rows ``index`` (in that order)."""
        return GuidanceTerm(self.negative[list(index)], self.scales[list(index)])

    @property
    def active(self) -> bool:
        return bool((self.scales != 1.0).any())


def caption_guidance_terms(
    scales: dict[str, float],
    action_ids: Sequence[int],
    prompts: Sequence[str | None],
    events: Sequence[str | None],
    context: Tensor,
    caption_for: Callable[[int], str],
    encode: Callable[[list[Caption]], Tensor],
) -> list[GuidanceTerm]:
    """The active guidance terms for n rows.

    ``scales`` maps "text", "movement", "rotation" and "event" to their scales (1: off);
    ``context`` (n, L, D) is the rows' conditional context; ``caption_for(action)`` is the action
    text and ``encode`` the text encoder's ``encode_batch``. Terms every row leaves out are
    dropped, so with all scales 1 the list is empty.
    """
    n = len(action_ids)
    terms = []
    if scales.get("text", 1.0) != 1.0:  # classifier-free: against no text at all
        terms.append(GuidanceTerm(torch.zeros_like(context), torch.full((n,), float(scales["text"]))))
    parts = [split_action(a) for a in action_ids]
    second = [scene_text(p, e) for p, e in zip(prompts, events)]
    variants = {
        "movement": ([action_id(0, r.index) for _, r in parts], second, [m.index != 0 for m, _ in parts]),
        "rotation": ([action_id(m.index, 0) for m, _ in parts], second, [r.index != 0 for _, r in parts]),
        "event": (list(action_ids), [scene_text(p, None) for p in prompts], [bool(e) for e in events]),
    }
    for name, (actions, texts, applies) in variants.items():
        scale = float(scales.get(name, 1.0))
        if scale == 1.0 or not any(applies):
            continue
        negative = encode([(caption_for(a), t) for a, t in zip(actions, texts)]).to(context)  # (n, L, D)
        row_scales = torch.tensor([scale if on else 1.0 for on in applies])
        terms.append(GuidanceTerm(negative, row_scales))
    return terms

"""Guidance toward one part of the caption (movement, rotation, event) and its combination."""

import dataclasses

import pytest
import torch

from yume_gym.actions import action_id, caption_for_action
from yume_gym.world.guidance import caption_guidance_terms
from yume_gym.sampling import combine_guided
from yume_gym.world.batch import WorldBatch, WorldStart
from yume_gym.world.bundle import with_generation

W_AND_RIGHT = action_id(1, 1)  # W, pan right
STILL = action_id(0, 0)
PAN_RIGHT = action_id(0, 1)


def test_combine_guided_adds_one_term_per_negative_with_per_row_scales():
    cond, neg_a, neg_b = torch.full((2, 3), 4.0), torch.full((2, 3), 1.0), torch.full((2, 3), 3.0)
    velocities = torch.cat([cond, neg_a, neg_b])
    guided = combine_guided(velocities, 2.0, torch.tensor([3.0, 1.0]))
    # row 0: 4 + 1 * (4 - 1) + 2 * (4 - 3) = 9; row 1: the second term is off: 4 + 3 = 7
    assert torch.equal(guided, torch.tensor([[9.0] * 3, [7.0] * 3]))
    # one negative of no text is classifier-free guidance: uncond + s (cond - uncond)
    assert torch.allclose(combine_guided(torch.cat([cond, neg_a]), 2.5), neg_a + 2.5 * (cond - neg_a))
    with pytest.raises(ValueError, match="equal parts"):
        combine_guided(torch.zeros(5, 3), 2.0)


def test_terms_compare_the_caption_with_the_same_caption_missing_one_part():
    encoded = []

    def encode(captions):
        encoded.append(captions)
        return torch.zeros(len(captions), 4, 2)

    context = torch.ones(3, 4, 2)
    scales = {"text": 1.0, "movement": 3.0, "rotation": 2.0, "event": 4.0}
    actions = [W_AND_RIGHT, PAN_RIGHT, STILL]
    terms = caption_guidance_terms(scales, actions, ["a meadow", None, "a field"], [None, "night falls", None],
                                   context, caption_for_action, encode)
    assert len(terms) == 3  # movement, rotation, event: each applies to some row
    movement, rotation, event = encoded
    assert movement[0] == (caption_for_action(PAN_RIGHT), "a meadow")  # W dropped, the pan kept
    assert rotation[0] == (caption_for_action(action_id(1, 0)), "a meadow")  # the pan dropped, W kept
    assert event[1] == (caption_for_action(PAN_RIGHT), None)  # the event dropped (no prompt left)
    assert terms[0].scales.tolist() == [3.0, 1.0, 1.0]  # only row 0 moves
    assert terms[1].scales.tolist() == [2.0, 2.0, 1.0]  # rows 0 and 1 turn
    assert terms[2].scales.tolist() == [1.0, 4.0, 1.0]  # only row 1 has an event
    assert terms[2].rows([1]).scales.tolist() == [4.0]
    # all scales 1, or no row that a term applies to: no terms, no extra passes
    assert caption_guidance_terms({"movement": 1.0, "event": 1.0}, actions, [None] * 3, [None] * 3, context,
                                  caption_for_action, encode) == []
    assert caption_guidance_terms({"event": 3.0, "movement": 2.0}, [PAN_RIGHT], [None], [None], context[:1],
                                  caption_for_action, encode) == []
    text = caption_guidance_terms({"text": 2.0}, actions, [None] * 3, [None] * 3, context, caption_for_action, encode)
    assert len(text) == 1 and torch.equal(text[0].negative, torch.zeros_like(context))


def rollout(model, start, actions, **guidance):
    """Each step's new latents (2, C, L, h, w): compared in latent space, before decoding rounds them."""
    world = WorldBatch(with_generation(model, **guidance), 2)
    world.start([0, 1], start)
    latents, chunk = [], model.generation.chunk_latents
    for a in actions:
        world.advance([0, 1], list(a))
        latents.append(torch.stack([world.get_state(i).history[:, -chunk:] for i in (0, 1)]))
    return latents


def differ(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


# A guided pass runs the generator on a larger batch, so a row the terms leave out may differ
# from the plain pass by float rounding; a term acting moves latents by orders of magnitude more.
ROUNDING = 1e-5  # measured: 2-4e-7 left out, 1.6-2.9e-3 acting (random tiny model)


def test_event_guidance_changes_only_the_rows_with_an_event(model):
    start = [WorldStart(seed=1, prompt="a meadow", events=((1, "night falls"),)), WorldStart(seed=2, prompt="a meadow")]
    actions = [(W_AND_RIGHT, W_AND_RIGHT)] * 2
    plain = rollout(model, start, actions)
    guided = rollout(model, start, actions, event_guidance=4.0)
    assert differ(plain[0][1], guided[0][1]) <= ROUNDING  # row 1 has no event
    assert differ(plain[0][0], guided[0][0]) > 30 * ROUNDING  # row 0's event is active from step 1
    assert differ(plain[1][1], guided[1][1]) <= ROUNDING


def test_key_guidance_leaves_still_rows_alone_and_moves_the_others(model):
    start = [WorldStart(seed=1, prompt="a meadow"), WorldStart(seed=2, prompt="a meadow")]
    actions = [(STILL, W_AND_RIGHT)]
    plain = rollout(model, start, actions)
    for name in ("movement_guidance", "rotation_guidance"):
        guided = rollout(model, start, actions, **{name: 3.0})
        assert differ(plain[0][0], guided[0][0]) <= ROUNDING, name  # row 0 holds no key
        assert differ(plain[0][1], guided[0][1]) > 30 * ROUNDING, name


@pytest.mark.parametrize("name", ["movement_guidance", "rotation_guidance", "event_guidance"])
@pytest.mark.parametrize("value", [-1.0, 31.0, True, "2"])
def test_guidance_scales_are_validated(model, name, value):
    with pytest.raises(ValueError, match=name):
        dataclasses.replace(model.generation, **{name: value})

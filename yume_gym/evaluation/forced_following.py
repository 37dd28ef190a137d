"""Action following with the drift taken out: every chunk generated from the ground truth's past.

An open-loop rollout mixes two failures: a model that does not read the action caption, and a
model whose own blurred chunks no longer show the motion. Here each chunk k of an episode is
generated once from the encoded true frames before it (teacher forcing) under the action the
episode took, and once, from the same noise, under a random action. Against the inverse-dynamics
classifier this tells apart:

- following the caption: the random-action chunks should show the random action;
- continuing the history's motion (a shortcut data with long-held actions teaches): the
  random-action chunks show the previous chunk's action instead, more often than the true
  frames do by chance (the walker draws a fresh action every chunk).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from einops import rearrange
from torch import Tensor

from yume_gym.actions import NUM_ACTIONS
from yume_gym.evaluation.ground_truth import Episode
from yume_gym.model.inverse_dynamics import InverseDynamics, follow_accuracy
from yume_gym.evaluation.metrics import psnr
from yume_gym.world.batch import WorldBatch, WorldStart
from yume_gym.world.bundle import WorldModel

Accuracy = tuple[float, float, float]  # movement, rotation, whole action


@dataclass
class ForcedFollowing:
    """Inverse-dynamics accuracies of chunks generated from the true history.

    ``taken``: chunks under the episode's action, against it. ``swapped``: chunks under a
    random action, against that action. ``swapped_previous``: the same chunks against the
    previous chunk's action (the history's motion). ``truth_previous``: the true chunks against
    the previous chunk's action, the rate chance and the walker's action mix give.
    ``psnr`` of the taken-action chunks and ``copy_psnr`` of repeating the last true frame.
    """

    taken: Accuracy
    swapped: Accuracy
    swapped_previous: Accuracy
    truth_previous: Accuracy
    psnr: float
    copy_psnr: float


@torch.no_grad()
def true_history(model: WorldModel, episodes: list[Episode]) -> Tensor:
    """Latents (N, C, (1 + K) * L, h, w) of the episodes as a world would hold them had it
    generated the true frames: the start image's opening chunk, then each true chunk, every
    chunk encoded on its own as the world decodes it."""
    f = model.chunk_frames
    video = np.stack([np.concatenate([np.repeat(ep.frames[:1], f, 0), ep.frames[1:]]) for ep in episodes])
    chunks = rearrange(video, "n (k t) h w c -> (n k) c t h w", t=f)  # (N*(1+K), 3, F, H, W)
    x = torch.from_numpy(np.ascontiguousarray(chunks)).to(model.device, model.dtype) / 127.5 - 1.0
    latents = torch.cat([model.codec.encode(part) for part in x.split(16)])  # (N*(1+K), C, L, h, w)
    return rearrange(latents, "(n k) c l h w -> n c (k l) h w", n=len(episodes))


def forced_following(model: WorldModel, episodes: list[Episode], idm: InverseDynamics, seed: int) -> ForcedFollowing:
    """Generate every chunk of ``episodes`` from its true history under the action taken and a
    random one (same noise), and score both with ``idm``."""
    n, chunks, f = len(episodes), len(episodes[0].actions), model.chunk_frames
    lat = model.generation.chunk_latents
    history = true_history(model, episodes)  # (N, C, (1 + K) * L, h, w)
    kept = model.generation.image_history_latents or lat
    world, rows = WorldBatch(model, n), list(range(n))
    world.start(rows, [WorldStart(seed=seed + i, image=ep.frames[0], prompt=ep.scene) for i, ep in enumerate(episodes)])
    random_actions = np.random.default_rng(seed).integers(NUM_ACTIONS, size=(chunks, n))
    taken, swapped, truth, labels, others, previous = [], [], [], [], [], []
    for k in range(1, chunks + 1):
        past = torch.cat([history[:, :, :kept], history[:, :, lat : k * lat]], dim=2)  # (N, C, kept + (k-1)L, h, w)
        states = [replace(world.get_state(i), history=past[i].cpu(), step=k - 1) for i in rows]
        before = np.stack([ep.frames[f * (k - 1)] for ep in episodes])[:, None]  # (N, 1, H, W, 3)
        actions = [int(ep.actions[k - 1]) for ep in episodes]
        for i in rows:
            world.set_state(i, states[i])
        taken.append(np.concatenate([before, world.advance(rows, actions).frames], axis=1))
        for i in rows:
            world.set_state(i, states[i])
        swapped.append(np.concatenate([before, world.advance(rows, random_actions[k - 1].tolist()).frames], axis=1))
        truth.append(np.stack([ep.frames[f * (k - 1) : f * k + 1] for ep in episodes]))
        labels += actions
        others += random_actions[k - 1].tolist()
        previous += [int(ep.actions[k - 2]) if k > 1 else -1 for ep in episodes]
    taken_w, swapped_w, truth_w = (np.concatenate(w) for w in (taken, swapped, truth))  # (N*K, 1 + F, H, W, 3)
    labels, others, previous = np.asarray(labels), np.asarray(others), np.asarray(previous)
    has_previous = previous >= 0
    swapped_pred = idm.predict(swapped_w)
    flat = lambda w: w[:, 1:].reshape(-1, *w.shape[2:])  # (N*K*F, H, W, 3)
    copy = np.repeat(truth_w[:, :1], f, axis=1)
    return ForcedFollowing(
        taken=follow_accuracy(idm.predict(taken_w), labels),
        swapped=follow_accuracy(swapped_pred, others),
        swapped_previous=follow_accuracy(swapped_pred[has_previous], previous[has_previous]),
        truth_previous=follow_accuracy(idm.predict(truth_w)[has_previous], previous[has_previous]),
        psnr=float(psnr(flat(taken_w), flat(truth_w)).mean()),
        copy_psnr=float(psnr(copy.reshape(-1, *copy.shape[2:]), flat(truth_w)).mean()),
    )

"""Event following: does an event's text change generated frames the way the event changes the world?

For each event kind, ``trials`` held-out scenes are rolled out twice with the same seed and
actions, once with the event scheduled and once without; the kind's measure (brightness for
night, whiteness for snow, ...) is compared over the last chunks, after the event has had
time to come in. A trial counts when the measure moves in the event's direction.

Trials use scenes where the event visibly changes the ground truth (its measure moves by at
least the test's threshold): "night falls" changes nothing in a scene under a night sky.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from yume_gym.actions import SpeedSuffix
from yume_gym.evaluation import metrics
from yume_gym.evaluation.ground_truth import ground_truth_episode
from yume_gym.evaluation.rollouts import generate
from yume_gym.world.bundle import WorldModel

# kind -> (event text, measure, +1 if the event raises it / -1 if it lowers it, ground-truth threshold)
EVENT_TESTS: dict[str, tuple[str, Callable[[np.ndarray], float], int, float]] = {
    "night": ("night falls", metrics.brightness, -1, 3.0),
    "snow": ("it starts to snow", metrics.whiteness, +1, 2.0),
    "rain": ("it starts to rain", metrics.contrast, -1, 1.0),
    "fog": ("fog rolls in", metrics.contrast, -1, 1.0),
    "sunset": ("the sun sets", metrics.warmth, +1, 2.0),
    "storm": ("a storm rolls in", metrics.contrast, -1, 1.0),
    "appear": ("a red pillar appears", metrics.red_fraction, +1, 0.005),
}
MAX_TRIES = 6  # scenes tried per wanted trial before giving up on finding more


@dataclass
class EventResult:
    """Per kind: trials, share of generated trials in the right direction, mean changes."""

    kind: str
    text: str
    measure: str
    trials: int
    generated_right: float
    generated_change: float
    truth_change: float


def event_following(model: WorldModel, seed: int, trials: int, chunks: int = 8, event_chunk: int = 2,
                    measured_chunks: int = 3) -> list[EventResult]:
    """Run every test of :data:`EVENT_TESTS` (see the module doc)."""
    f, size = model.chunk_frames, model.frame_size[0]
    speed = model.speed or SpeedSuffix()
    tail = measured_chunks * f
    results = []
    for kind, (text, measure, sign, threshold) in EVENT_TESTS.items():
        plain, evented = [], []
        for i in range(MAX_TRIES * trials):
            p = ground_truth_episode(seed, i, chunks, f, size, speed)
            e = ground_truth_episode(seed, i, chunks, f, size, speed, text, event_chunk, p.actions)
            if sign * (measure(e.frames[-tail:]) - measure(p.frames[-tail:])) >= threshold:
                plain.append(p)
                evented.append(e)
            if len(evented) == trials:
                break
        if not evented:  # no tried scene shows the event: nothing to compare
            results.append(EventResult(kind, text, measure.__name__, 0, float("nan"), float("nan"), float("nan")))
            continue
        generated = generate(model, evented, seed, with_events=True)
        baseline = generate(model, evented, seed, with_events=False)
        gen_delta = np.array([measure(g[-tail:]) - measure(b[-tail:]) for g, b in zip(generated, baseline)])
        true_delta = np.array([measure(e.frames[-tail:]) - measure(p.frames[-tail:]) for e, p in zip(evented, plain)])
        results.append(EventResult(kind, text, measure.__name__, len(evented), float(np.mean(sign * gen_delta > 0)),
                                   float(gen_delta.mean()), float(true_delta.mean())))
    return results


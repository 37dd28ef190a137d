"""Text events of the procedural world: parsing, errors, and their visible effect on frames."""

import numpy as np
import pytest
from procworld.env import ProcWorldEnv
from procworld.events import EVENT_EXAMPLES, PHRASES, event_phrases, parse_event, sample_event_text

PROMPT = "a grassy meadow with blue boxes and green trees under a clear sky"


def rollout(event: str | None, steps: int = 4, seed: int = 5) -> tuple[np.ndarray, dict]:
    """Chunks of a still camera with ``event`` starting at step 1: (frames (steps*8, H, W, 3), last info)."""
    env = ProcWorldEnv(size=64, frames_per_step=8)
    events = [] if event is None else [(1, event)]
    env.reset(seed=seed, options={"prompt": PROMPT, "events": events})
    chunks = []
    for _ in range(steps):
        info = env.step(0)[4]
        chunks.append(info["frames"])
    return np.concatenate(chunks).astype(float), info


@pytest.fixture(scope="module")
def baseline():
    return rollout(None)[0]


def brightness(frames: np.ndarray) -> float:
    return float(frames[-8:].mean())


def warmth(frames: np.ndarray) -> float:
    """How much redder than blue the last chunk is."""
    return float((frames[-8:, ..., 0] - frames[-8:, ..., 2]).mean())


def ground_whiteness(frames: np.ndarray) -> float:
    """Mean of the smallest channel over the ground rows (40 and below) of the last chunk: high where white."""
    return float(frames[-8:, 40:].min(axis=-1).mean())


def red_pixels(frame: np.ndarray) -> int:
    r, g, b = frame[..., 0], frame[..., 1], frame[..., 2]
    return int(((r > 120) & (r > 2 * g) & (r > 2 * b)).sum())


def flicker(frames: np.ndarray) -> float:
    """Mean absolute change between consecutive frames of the last chunk (the camera is still)."""
    return float(np.abs(np.diff(frames[-8:], axis=0)).mean())


def test_night_falls_darkens_by_more_than_30_percent(baseline):
    frames, info = rollout("night falls")
    assert brightness(frames) < 0.7 * brightness(baseline)
    assert info["event"] == "night falls"


def test_sunset_turns_the_light_orange(baseline):
    frames, _ = rollout("the sun sets")
    assert warmth(frames) > warmth(baseline) + 15
    assert brightness(frames) < brightness(baseline)


def test_fog_flattens_the_contrast(baseline):
    frames, _ = rollout("fog rolls in")
    assert frames[-1].std() < 0.5 * baseline[-1].std()


@pytest.mark.parametrize("text", ["it starts to rain", "a storm rolls in"])
def test_rain_and_storm_darken_and_animate(baseline, text):
    frames, _ = rollout(text)
    assert flicker(baseline) == 0.0  # a still camera in calm weather sees a still picture
    assert flicker(frames) > 0.3  # falling rain
    assert brightness(frames) < (0.75 if "storm" in text else 0.9) * brightness(baseline)


def test_snow_falls_and_whitens(baseline):
    frames, _ = rollout("it starts to snow", steps=8)
    assert flicker(frames) > 0.3
    assert ground_whiteness(frames) > ground_whiteness(baseline) + 60


def test_an_object_appears_ahead(baseline):
    frames, info = rollout("a red pillar appears")
    assert red_pixels(baseline[-1]) == 0 and red_pixels(frames[-1]) > 25
    new = info["objects"][-1]
    assert (new["kind"], new["colour"]) == ("pillar", "red")
    assert new["in_view"] and new["pixels"] > 25 and 3.5 < new["distance"] < 9.5


def test_the_change_comes_in_over_event_frames():
    env = ProcWorldEnv(size=32, frames_per_step=4, event_frames=16)
    env.reset(seed=0, options={"prompt": PROMPT, "events": [(1, "night falls")]})
    means = np.concatenate([env.step(0)[4]["frames"] for _ in range(5)]).mean(axis=(1, 2, 3))
    assert np.all(np.diff(means[:16]) < 0)  # darker frame by frame while it comes in
    assert np.allclose(means[16:], means[16])  # then it stays


def test_an_event_started_live_and_cleared_keeps_its_change():
    env = ProcWorldEnv(size=32, frames_per_step=8)
    obs, _ = env.reset(seed=0, options={"prompt": PROMPT})
    env.set_event("night falls")
    info = env.step(0)[4]
    assert info["event_started"] == "night falls" and info["step"] == 1
    env.set_event(None)
    for _ in range(2):
        obs2, _, _, _, info = env.step(0)
    assert info["event"] is None and info["event_started"] is None
    assert obs2.mean() < 0.7 * obs.mean()


def test_every_phrase_parses_to_its_kind():
    for kind, phrases in event_phrases().items():
        for phrase in phrases:
            assert parse_event(phrase).kinds == (kind,), phrase
    assert parse_event("  Night Falls! ").text == "night falls"
    assert parse_event("It begins to rain.").text == PHRASES["rain"][0]
    assert parse_event("an orange wall rises from the ground").text == "an orange wall appears"
    combined = parse_event("night falls and a white box appears, fog")
    assert combined.kinds == ("night", "appear", "fog") and combined.spawns == (("white", "box"),)
    assert all(parse_event(e).text == e for e in EVENT_EXAMPLES)
    rng = np.random.default_rng(0)
    assert all(parse_event(sample_event_text(rng)) for _ in range(50))


@pytest.mark.parametrize(
    "text, match",
    [
        ("a dragon appears", "unknown event"),
        ("it starts to hail", "unknown event"),
        ("a pink pillar appears", "unknown colour 'pink'"),
        ("a red dragon appears", "unknown object kind 'dragon'"),
        ("night falls and the moon explodes", "unknown event 'the moon explodes'"),
        ("   ", "blank"),
    ],
)
def test_unknown_event_text_is_a_clear_error(text, match):
    with pytest.raises(ValueError, match=match):
        parse_event(text)


def test_the_env_rejects_unknown_events_everywhere():
    env = ProcWorldEnv(size=32)
    with pytest.raises(ValueError, match=r"events\[1\].*unknown event"):
        env.reset(seed=0, options={"events": [(1, "night falls"), (3, "the floor is lava")]})
    with pytest.raises(ValueError, match="unknown event"):
        ProcWorldEnv(events=[(0, "a meteor shower")])
    env.reset(seed=0)
    with pytest.raises(ValueError, match="unknown event"):
        env.set_event("the floor is lava")
    with pytest.raises(TypeError):
        parse_event(3)


@pytest.mark.parametrize(
    "events, match",
    [
        ("night falls", "must be a list"),
        ([(2, "night falls"), (1, "fog rolls in")], "strictly increasing"),
        ([(1, "night falls"), (1, "fog")], "repeats"),
        ([(-1, "night falls")], "negative"),
        ([(1.5, "night falls")], "expected an integer"),
        ([("1", "night falls")], "expected an integer"),
        ([(1, 42)], "expected a string"),
        ([(1, "night falls", "extra")], "pair"),
    ],
)
def test_malformed_schedules_are_clear_errors(events, match):
    with pytest.raises(ValueError, match=match):
        ProcWorldEnv(size=32).reset(seed=0, options={"events": events})

"""Event schedules: validation, lookup with live overrides, and scripted events from files."""

import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from yume_gym.events import (
    MAX_EVENT_CHARS,
    EventSchedule,
    load_schedule,
    validate_event_text,
    validate_schedule,
)
from yume_gym.env.scripted_events import ScriptedEvents


class FakeChunkEnv(gym.Env):
    """Follows the yume-gym step contract; an event set live applies from the next step."""

    metadata = {"render_modes": [], "render_fps": 16}

    def __init__(self):
        self.action_space = spaces.Discrete(81)
        self.observation_space = spaces.Box(0, 255, (4, 4, 3), np.uint8)
        self.event, self.steps = None, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.event, self.steps = None, 0
        return np.zeros((4, 4, 3), np.uint8), {"step": 0, "event": None}

    def step(self, action):
        self.steps += 1
        info = {"frames": np.zeros((2, 4, 4, 3), np.uint8), "event": self.event, "step": self.steps}
        return info["frames"][-1], 0.0, False, False, info

    def set_event(self, text):
        self.event = text


def test_validate_schedule_accepts_pairs_lists_mappings_and_none():
    events = [(0, "fog"), [np.int64(2), "night falls"], {"step": 5, "event": None}]
    assert validate_schedule(events) == [(0, "fog"), (2, "night falls"), (5, None)]
    assert validate_schedule(()) == []
    assert type(validate_schedule([(np.int32(1), "x")])[0][0]) is int


@pytest.mark.parametrize(
    "events, message",
    [
        ("night falls", "must be a list"),
        ({3: "rain"}, "must be a list"),
        ([(1, "rain", "extra")], r"events\[0\] = \(1, 'rain', 'extra'\)"),
        ([5], r"events\[0\] = 5"),
        ([(1, "a"), (-2, "rain")], r"events\[1\].*-2 is negative"),
        ([("3", "rain")], r"step '3' has type str"),
        ([(2.0, "rain")], r"step 2.0 has type float"),
        ([(True, "rain")], r"step True has type bool"),
        ([(1, 7)], r"text 7 has type int"),
        ([(1, "   ")], r"blank"),
        ([(1, "x" * (MAX_EVENT_CHARS + 1))], rf"{MAX_EVENT_CHARS + 1} characters"),
        ([(3, "rain"), (1, "snow")], r"events\[1\] = \(1, 'snow'\): step 1 comes after step 3"),
        ([(3, "rain"), (3, "snow")], r"step 3 repeats step 3"),
        ([{"step": 1, "text": "rain"}], r"keys 'step' and 'event'"),
    ],
)
def test_validate_schedule_errors_name_the_entry(events, message):
    with pytest.raises(ValueError, match=message):
        validate_schedule(events)


def test_event_text_length_limit_is_inclusive():
    assert validate_event_text("x" * MAX_EVENT_CHARS) == "x" * MAX_EVENT_CHARS
    assert validate_event_text(None) is None


def test_schedule_lookup_and_live_override_rules():
    schedule = EventSchedule([(2, "night falls"), (6, "dawn"), (9, None)])
    assert [schedule.active(k) for k in (0, 1, 2, 5, 6, 8, 9, 50)] == [
        None, None, "night falls", "night falls", "dawn", "dawn", None, None,
    ]  # fmt: skip
    schedule.set("a storm rolls in", 3)  # lasts until the next scheduled entry (6)
    assert [schedule.active(k) for k in (2, 3, 5, 6)] == ["night falls", "a storm rolls in", "a storm rolls in", "dawn"]
    schedule.clear(7)  # clears "dawn" until the entry at 9 (which also clears)
    assert [schedule.active(k) for k in (6, 7, 8)] == ["dawn", None, None]
    schedule.set("fog", 9)  # a tie with a scheduled entry: the schedule wins
    assert schedule.active(9) is None
    schedule.set("snow", 9)  # a second live change at one step replaces the first
    assert schedule.live[-1] == (9, "snow")
    assert schedule.active(10) is None
    schedule.set("hail", 12)
    assert schedule.active(12) == "hail"
    with pytest.raises(ValueError, match="step order"):
        schedule.set("rain", 4)
    with pytest.raises(ValueError, match="characters"):
        schedule.set("x" * 400, 20)
    with pytest.raises(ValueError, match="negative"):
        schedule.active(-1)


def test_load_schedule_json_and_yaml(tmp_path):
    (tmp_path / "e.json").write_text(json.dumps([[1, "night falls"], {"step": 3, "event": None}]))
    assert load_schedule(tmp_path / "e.json") == [(1, "night falls"), (3, None)]
    (tmp_path / "e.yaml").write_text("- {step: 2, event: a storm rolls in}\n- [4, fog]\n")
    assert load_schedule(str(tmp_path / "e.yaml")) == [(2, "a storm rolls in"), (4, "fog")]


def test_load_schedule_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        load_schedule(tmp_path / "missing.json")
    (tmp_path / "e.txt").write_text("[]")
    with pytest.raises(ValueError, match="unknown extension"):
        load_schedule(tmp_path / "e.txt")
    (tmp_path / "bad.json").write_text("[[1, 'single quotes']]")
    with pytest.raises(ValueError, match="bad.json.*not valid JSON"):
        load_schedule(tmp_path / "bad.json")
    (tmp_path / "bad.yml").write_text("- [1, night\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_schedule(tmp_path / "bad.yml")
    (tmp_path / "obj.yaml").write_text("step: 1\nevent: rain\n")
    with pytest.raises(ValueError, match="obj.yaml.*must be a list"):
        load_schedule(tmp_path / "obj.yaml")
    (tmp_path / "order.yaml").write_text("- [4, rain]\n- [2, snow]\n")
    with pytest.raises(ValueError, match=r"order.yaml.*events\[1\]"):
        load_schedule(tmp_path / "order.yaml")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_scripted_events_apply_at_their_steps(tmp_path, suffix):
    entries = [{"step": 2, "event": "night falls"}, {"step": 4, "event": None}]
    path = tmp_path / f"events{suffix}"
    path.write_text(json.dumps(entries))  # JSON is valid YAML too
    env = ScriptedEvents(FakeChunkEnv(), path)
    for _ in range(2):  # the schedule restarts on reset
        env.reset(seed=0)
        events = [env.step(0)[4]["event"] for _ in range(5)]
        assert events == [None, "night falls", "night falls", None, None]
    env.reset()
    env.step(0)
    env.step(0)
    env.set_event("a storm rolls in")  # live, until the file's entry at step 4 clears it
    assert env.step(0)[4]["event"] == "a storm rolls in"
    assert env.active_event == "a storm rolls in"
    assert env.step(0)[4]["event"] is None
    assert env.active_event is None


def test_scripted_events_rejects_step_zero_and_envs_without_set_event(tmp_path):
    path = tmp_path / "e.json"
    path.write_text("[[0, \"fog\"]]")
    with pytest.raises(ValueError, match="step 0"):
        ScriptedEvents(FakeChunkEnv(), path)
    path.write_text("[[1, \"fog\"]]")
    with pytest.raises(TypeError, match="set_event"):
        ScriptedEvents(gym.make("CartPole-v1"), path)

"""The play loop shared by `yume-gym play` and `serve`: keys, events, reset, pause, recording, errors."""

import json
import re
import time

import gymnasium as gym
import imageio_ffmpeg
import numpy as np
import pytest
from play_support import PROMPT, SIZE, distinct_moves, logged_controller, small_model, wait_until

from yume_gym.commands.play.optional import import_play_dependency
from yume_gym.commands.play.session import auto_scale, open_controller, start_options
from yume_gym.commands.play.window import parse_args


@pytest.fixture(scope="module")
def model():
    return small_model()


@pytest.fixture
def controller_and_log(model):
    controller, log = logged_controller(model)
    controller.start()
    yield controller, log
    controller.close()


def test_held_keys_become_the_actions_of_the_next_chunks(controller_and_log):
    controller, log = controller_and_log
    wait_until(lambda: controller.frame() is not None, every=controller.advance, what="the opening chunk")
    controller.set_held({"W"})
    wait_until(lambda: 9 in log.actions, every=controller.advance, what="action 9 (W)")
    controller.set_held({"W", "LEFT"})
    wait_until(lambda: 11 in log.actions, every=controller.advance, what="action 11 (W ←)")
    controller.set_held({"LEFT"})
    wait_until(lambda: log.actions[-2:] == [2, 2], every=controller.advance, what="action 2 (←) twice")
    assert distinct_moves(log.actions) == [9, 11, 2]
    assert controller.status().keys == "←"
    assert controller.frame().shape == (SIZE, SIZE, 3)


def test_events_reach_the_env_and_clear(controller_and_log):
    controller, log = controller_and_log
    controller.set_event("night falls")
    assert controller.status().next_event == "night falls"
    wait_until(lambda: "night falls" in log.events, every=controller.advance, what="the event in a step")
    wait_until(lambda: controller.status().event == "night falls", every=controller.advance,
               what="the event on screen")
    controller.set_event(None)
    wait_until(lambda: log.events[-1] is None, every=controller.advance, what="the event to clear")
    with pytest.raises(ValueError, match="at most 300 characters"):
        controller.set_event("x" * 301)
    with pytest.raises(ValueError, match="blank"):
        controller.set_event("  ")
    with pytest.raises(ValueError, match="lone surrogate"):
        controller.set_event("\ud800")


def test_a_request_that_fails_in_the_env_is_shown_and_generation_goes_on(model):
    from yume_gym.commands.play.controller import PlayController
    from yume_gym.env.single import YumeWorldEnv

    class EventFails(YumeWorldEnv):
        steps = 0

        def set_event(self, text):
            raise RuntimeError(f"cannot encode {text!r}")

        def step(self, action):
            EventFails.steps += 1
            return super().step(action)

    controller = PlayController(EventFails(checkpoint=model), seed=0, options={"prompt": PROMPT})
    controller.start()
    try:
        wait_until(lambda: controller.frame() is not None, every=controller.advance, what="the opening chunk")
        controller.set_event("night falls")
        wait_until(lambda: controller.status().error is not None, every=controller.advance, what="the error")
        assert controller.status().error == "RuntimeError: cannot encode 'night falls'"
        steps = EventFails.steps
        wait_until(lambda: EventFails.steps >= steps + 3, every=controller.advance, what="chunks after the failure")
    finally:
        controller.close()


def test_reset_restarts_and_pause_stops_generation(controller_and_log):
    controller, log = controller_and_log
    wait_until(lambda: len(log.actions) >= 2, every=controller.advance, what="two steps")
    controller.request_reset()
    wait_until(lambda: log.resets == 2, every=controller.advance, what="the second reset")
    wait_until(lambda: controller.status().step == 0, every=controller.advance, what="the new opening chunk")
    assert controller.toggle_pause() is True
    steps = len(log.actions)
    for _ in range(50):  # a second of front-end ticks: at most the chunk in flight finishes
        controller.advance()
        time.sleep(0.02)
    frame = controller.frame().copy()
    for _ in range(30):
        controller.advance()
    assert len(log.actions) <= steps + 1 and controller.status().paused
    np.testing.assert_array_equal(controller.frame(), frame)
    assert controller.toggle_pause() is False
    wait_until(lambda: len(log.actions) >= steps + 2, every=controller.advance, what="steps after resume")


def test_a_failing_env_is_reported_and_the_front_end_stays_up(model):
    class Failing(gym.Wrapper):
        def step(self, action):
            raise RuntimeError("out of memory")

    controller, _ = logged_controller(model)
    controller.env = Failing(controller.env)
    controller.start()
    wait_until(lambda: controller.status().error is not None, every=controller.advance, what="the error")
    assert controller.status().error == "RuntimeError: out of memory"
    assert "error: RuntimeError: out of memory" in controller.status().lines()
    assert controller.frame() is not None  # the opening chunk stays on screen
    controller.close()


def test_session_scales_frames_starts_from_the_scene_and_records_on_demand(model, tmp_path):
    args = parse_args(["--save-dir", str(tmp_path), "--scale", "2", "--seed", "3"])
    controller = open_controller(args, checkpoint=model)
    assert "image" in controller.options and controller.options["prompt"] == PROMPT
    controller.start()
    try:
        wait_until(lambda: controller.frame() is not None, every=controller.advance, what="the opening chunk")
        assert controller.frame().shape == (2 * SIZE, 2 * SIZE, 3)
        assert controller.toggle_recording() is True
        wait_until(lambda: (controller.status().step or 0) >= 4, every=controller.advance, what="step 4")
        assert controller.status().recording
        assert controller.toggle_recording() is False
    finally:
        controller.close()
    video = tmp_path / "recordings" / "episode-0000.mp4"
    sidecar = json.loads(video.with_suffix(".json").read_text())
    assert sidecar["reset"] is None and sidecar["status"] == "stopped" and sidecar["steps"]
    assert (sidecar["height"], sidecar["width"]) == (2 * SIZE, 2 * SIZE)
    assert imageio_ffmpeg.count_frames_and_secs(str(video))[0] == sidecar["frame_count"]
    assert not list((tmp_path / "recordings").glob("episode-0001*"))


def test_start_options_and_scale():
    assert start_options("a foggy harbour at dawn", None, 0, (SIZE, SIZE)) == {"prompt": "a foggy harbour at dawn"}
    assert start_options("x", "start.png", 0, (SIZE, SIZE)) == {"prompt": "x", "image": "start.png"}
    image = start_options(PROMPT, None, 0, (SIZE, SIZE))["image"]
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
    assert auto_scale((64, 64)) == 8 and auto_scale((704, 1280)) == 1


def test_recording_stops_at_its_frame_limit_and_the_hud_says_so(model, tmp_path):
    args = parse_args(["--save-dir", str(tmp_path), "--scale", "1"])
    controller = open_controller(args, checkpoint=model, max_record_frames=8)
    controller.start()
    try:
        wait_until(lambda: controller.frame() is not None, every=controller.advance, what="the opening chunk")
        assert controller.toggle_recording() is True
        wait_until(lambda: not controller.status().recording, every=controller.advance, what="recording to stop")
    finally:
        controller.close()
    video = tmp_path / "recordings" / "episode-0000.mp4"
    sidecar = json.loads(video.with_suffix(".json").read_text())
    assert sidecar["status"] == "frame limit" and sidecar["frame_count"] <= 8


def test_toggle_recording_needs_a_recorder(model):
    controller, _ = logged_controller(model)
    with pytest.raises(RuntimeError, match="no recorder"):
        controller.toggle_recording()


def test_a_missing_front_end_library_names_the_extra():
    with pytest.raises(ImportError, match=re.escape('pip install "yume-gym[play]"')):
        import_play_dependency("yume_gym_no_such_library")

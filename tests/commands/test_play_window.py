"""`yume-gym play`: the pygame window, headless, driven by scripted key events."""

import numpy as np
import pytest
from PIL import Image
from play_support import SIZE, distinct_moves, logged_controller, small_model, wait_until

from yume_gym.events import MAX_EVENT_CHARS
from yume_gym.commands.play.window import PlayWindow

pg = pytest.importorskip("pygame", reason='pygame is not installed: pip install "yume-gym[play]"')


@pytest.fixture(scope="module")
def model():
    return small_model()


@pytest.fixture
def window_and_log(model, tmp_path, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    controller, log = logged_controller(model)
    window = PlayWindow(controller, tmp_path)
    controller.start()
    yield window, log
    controller.close()
    pg.quit()


def key(kind, code):
    pg.event.post(pg.event.Event(kind, key=code, mod=0, unicode="", scancode=0))


def type_text(text):
    """Key presses as a keyboard makes them: KEYDOWN then TEXTINPUT for each character."""
    for char in text:
        key(pg.KEYDOWN, pg.key.key_code(char) if char != " " else pg.K_SPACE)
        pg.event.post(pg.event.Event(pg.TEXTINPUT, text=char))


def test_held_w_then_left_give_their_actions_and_the_hud_draws(window_and_log, tmp_path):
    window, log = window_and_log
    wait_until(lambda: window.controller.frame() is not None, every=window.tick, what="the opening chunk")
    key(pg.KEYDOWN, pg.K_w)
    wait_until(lambda: log.actions[-2:] == [9, 9], every=window.tick, what="W held for two chunks")
    key(pg.KEYUP, pg.K_w)
    key(pg.KEYDOWN, pg.K_LEFT)
    wait_until(lambda: log.actions[-2:] == [2, 2], every=window.tick, what="← held for two chunks")
    key(pg.KEYUP, pg.K_LEFT)
    wait_until(lambda: log.actions[-1] == 0, every=window.tick, what="no key held")
    assert distinct_moves(log.actions) == [9, 2]
    width, height = window.screen.get_size()
    assert (width, height) == (SIZE, SIZE)  # frames are shown as they come (no upscale here)
    key(pg.KEYDOWN, pg.K_F12)
    window.tick()
    shot = np.asarray(Image.open(window.screenshots[-1]).convert("RGB"))
    assert shot.shape == (height, width, 3) and shot.std() > 5


def test_typed_event_reaches_the_env_and_esc_clears_it(window_and_log):
    window, log = window_and_log
    wait_until(lambda: window.controller.frame() is not None, every=window.tick, what="the opening chunk")
    key(pg.KEYDOWN, pg.K_t)
    window.tick()
    assert window.typing == ""  # T opens the box and is not typed into it
    type_text("a snowstorm rolls in wasd")
    key(pg.KEYDOWN, pg.K_RETURN)
    steps_before = len(log.actions)
    wait_until(lambda: "a snowstorm rolls in wasd" in log.events, every=window.tick, what="the typed event")
    assert window.typing is None
    assert set(log.actions[steps_before:]) == {0}  # the letters typed did not move
    key(pg.KEYDOWN, pg.K_ESCAPE)
    wait_until(lambda: log.events[-1] is None, every=window.tick, what="Esc to clear the event")
    key(pg.KEYDOWN, pg.K_t)
    pg.event.post(pg.event.Event(pg.TEXTINPUT, text="x" * (MAX_EVENT_CHARS + 50)))
    window.tick()
    assert len(window.typing) == MAX_EVENT_CHARS  # the box takes no more than an event may hold
    key(pg.KEYDOWN, pg.K_ESCAPE)
    window.tick()
    assert window.typing is None


def test_reset_pause_and_quit_keys(window_and_log):
    window, log = window_and_log
    wait_until(lambda: len(log.actions) >= 1, every=window.tick, what="a step")
    key(pg.KEYDOWN, pg.K_r)
    wait_until(lambda: log.resets == 2, every=window.tick, what="the reset")
    key(pg.KEYDOWN, pg.K_p)
    window.tick()
    assert window.controller.status().paused
    assert "PAUSED" in window.controller.status().lines()
    key(pg.KEYDOWN, pg.K_p)
    window.tick()
    assert not window.controller.status().paused
    pg.event.post(pg.event.Event(pg.QUIT))
    assert window.tick() is False


def test_play_without_a_display_fails_fast_and_names_serve(monkeypatch, capsys):
    from yume_gym.commands.play import window

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(window, "open_controller", lambda args: pytest.fail("loaded a model without a display"))
    monkeypatch.setattr(window.sys, "platform", "linux")
    assert window.main([]) == 2
    message = capsys.readouterr().err
    assert "no display" in message and "yume-gym serve" in message and message.count("\n") == 1
    assert window.missing_display({"DISPLAY": ":0"}, "linux") is None
    assert window.missing_display({}, "darwin") is None

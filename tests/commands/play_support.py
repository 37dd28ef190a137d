"""Helpers of the play tests: a world small enough for fast tests and a log of what the env got."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import gymnasium as gym

from yume_gym.env.single import YumeWorldEnv
from yume_gym.commands.play.controller import PlayController
from yume_gym.commands.play.server import start_server
from yume_gym.world.bundle import build_world_model

SIZE = 32
PROMPT = "a grassy meadow with red pillars and blue boxes under a clear sky"


def small_model():
    return build_world_model(frame_size=SIZE, live_head=True)


class EnvLog(gym.Wrapper):
    """Logs every action the env receives, the event of each chunk, and the resets."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.actions: list[int] = []
        self.events: list[str | None] = []
        self.resets = 0

    def reset(self, **kwargs):
        self.resets += 1
        return self.env.reset(**kwargs)

    def step(self, action):
        out = self.env.step(action)
        self.actions.append(int(action))
        self.events.append(out[-1]["event"])
        return out


def logged_controller(model, **kwargs) -> tuple[PlayController, EnvLog]:
    """A controller over ``model`` whose env logs what it receives (not started)."""
    log = EnvLog(YumeWorldEnv(checkpoint=model))
    return PlayController(log, seed=0, options={"prompt": PROMPT}, **kwargs), log


def wait_until(condition: Callable[[], bool], timeout: float = 60.0, every: Callable[[], object] | None = None,
               what: str = "the condition") -> None:
    """Call ``every`` (default: nothing) until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        if every is not None:
            every()
        time.sleep(0.01)


def distinct_moves(actions: list[int]) -> list[int]:
    """The actions without no-ops and without repeats in a row: [0, 9, 9, 0, 2, 2] -> [9, 2]."""
    out: list[int] = []
    for action in actions:
        if action and (not out or out[-1] != action):
            out.append(action)
    return out


@contextmanager
def served(controller: PlayController) -> Iterator[str]:
    """Serve ``controller`` as `yume-gym serve` does, on a free local port, from a thread; yields the page URL.

    The controller starts with the server and is closed with it.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        runner, url = asyncio.run_coroutine_threadsafe(start_server(controller, "127.0.0.1", 0), loop).result(60)
        try:
            yield url
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(60)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

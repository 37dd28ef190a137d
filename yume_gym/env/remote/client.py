"""The env side of a world server: :class:`RemoteWorldCore`, the core an env uses with ``server=``.

It answers the calls of :class:`~yume_gym.env.core.WorldEnvCore` (reset, step, render, events,
snapshots) by asking a world server, so the single env, the vector env and the SB3 adapter run
unchanged on remote rows. Every call waits at most the pool's ``timeout_s``; a dead, restarting
or silent server raises :class:`WorldServerError` naming it, and the next ``reset()`` re-attaches.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from yume_gym.env.options import EnvOptions
from yume_gym.env.remote.pool import ServerHandle, WorldServerPool, require
from yume_gym.env.remote.server import ServerFullError, UnknownAttachmentError
from yume_gym.env.tasks import Task, task_setup

RESTART_POLL_S = 0.2  # how often an attaching client asks again for a restarting server


class WorldServerError(RuntimeError):
    """A world server died, is restarting, or did not answer in time."""


@dataclass(frozen=True)
class ServedModel:
    """What an env can know locally of the model its server runs."""

    description: str
    """the server's ``WorldModel.describe()``"""
    fps: int
    """frames per second of the generated video"""
    chunk_frames: int
    """video frames per step"""

    def describe(self) -> str:
        return self.description


class RemoteWorldCore:
    """``num_worlds`` rows on a world server, behind the calls of ``WorldEnvCore`` (see the module doc)."""

    def __init__(self, options: EnvOptions, num_worlds: int) -> None:
        self.pool = WorldServerPool.of(options.server)
        self.sent_options = server_env_options(options)
        self.num_worlds = num_worlds
        self.task: Task | None = task_setup(options.task, options.reward_fn, options.terminate_at_reward,
                                            options.prompt).task
        self._group = _digest(self.sent_options)
        self.server: ServerHandle | None = None
        self._attach()

    def _attach(self) -> None:
        """Take rows on the least loaded server, waiting up to the timeout for one that restarts."""
        ray = require("ray")
        errors, deadline = [], time.monotonic() + self.pool.timeout_s
        servers = self.pool.least_loaded()
        while not servers and time.monotonic() < deadline:
            time.sleep(RESTART_POLL_S)
            servers = self.pool.least_loaded()
        for server in servers:
            ref = server.actor.attach.remote(self.sent_options, self._group, self.num_worlds)
            try:
                reply = ray.get(ref, timeout=self.pool.timeout_s)
                break
            except ray.exceptions.RayTaskError as err:
                if not isinstance(err.cause, ServerFullError):
                    raise err.cause from None  # the options themselves are wrong
                errors.append(str(err.cause))
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as err:
                errors.append(f"{server.name}: {type(err).__name__}")
        else:
            names = [s.name for s in self.pool.servers]
            raise WorldServerError(f"no world server of {names} could take {self.num_worlds} rows: "
                                   f"{errors or 'none answered'}")
        self.server = ServerHandle(server.actor, reply["server"])
        self._attachment = reply["attachment"]
        self.model = ServedModel(reply["model"], reply["fps"], reply["chunk_frames"])
        self.single_action_space = reply["action_space"]
        self.single_observation_space = reply["observation_space"]
        self._started = [False] * self.num_worlds

    def _call(self, method: str, *args: Any) -> Any:
        """``method`` on the server, within the timeout; the env's own errors come back as they are."""
        ray = require("ray")
        ref = getattr(self.server.actor, method).remote(self._attachment, *args)
        try:
            return ray.get(ref, timeout=self.pool.timeout_s)
        except ray.exceptions.RayTaskError as err:
            if isinstance(err.cause, UnknownAttachmentError):
                self._started = [False] * self.num_worlds
            raise err.cause from None
        except ray.exceptions.GetTimeoutError:
            self._started = [False] * self.num_worlds  # the call may still run: the rows' state is unknown
            raise WorldServerError(f"world server {self.server.name!r} did not answer {method}() within "
                                   f"{self.pool.timeout_s} s; call reset() to start again") from None
        except ray.exceptions.RayActorError as err:
            self._started = [False] * self.num_worlds
            raise WorldServerError(f"world server {self.server.name!r} is down or restarting ({type(err).__name__}); "
                                   "its worlds are lost: call reset() to attach again") from None

    # --------------------------------------------------------------------- WorldEnvCore calls
    def reset(self, rows: Sequence[int], seeds: Sequence[int], options: dict[str, Any] | None):
        """Start ``rows``; after a server restart, attaches again first."""
        args = (list(rows), list(seeds), options, _digest(options))
        try:
            obs, infos = self._call("reset", *args)
        except (UnknownAttachmentError, WorldServerError):
            self.close()  # rows of a server that is still up go back to it
            self._attach()
            obs, infos = self._call("reset", *args)
        for row in rows:
            self._started[row] = True
        return obs, infos

    def step(self, rows: Sequence[int], actions: Sequence[Any]):
        return self._call("step", list(rows), list(actions))

    def is_started(self, row: int) -> bool:
        return self._started[row]

    def render(self, row: int) -> np.ndarray:
        return self._call("render", row)

    def set_event(self, row: int, text: str | None) -> None:
        self._call("set_event", row, text)

    def get_state(self, row: int):
        return self._call("get_state", row)

    def set_state(self, row: int, snapshot) -> np.ndarray:
        obs = self._call("set_state", row, snapshot)
        self._started[row] = True
        return obs

    def close(self) -> None:
        """Give the rows back to the server (nothing to do when it is gone)."""
        ray = require("ray")
        if not ray.is_initialized():
            return  # Ray has shut down, and its servers with it
        try:
            ray.get(self.server.actor.detach.remote(self._attachment), timeout=self.pool.timeout_s)
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
            pass  # a dead server holds no rows


def _digest(value: Any) -> str:
    """A key for ``value`` (equal options give equal keys, so their requests batch together)."""
    return hashlib.sha256(require("ray").cloudpickle.dumps(value)).hexdigest()


def server_env_options(options: EnvOptions) -> EnvOptions:
    """What a client sends its server: its options without ``server``; the model is the server's."""
    if options.checkpoint is not None or options.device != "cpu" or options.dtype != EnvOptions.dtype:
        raise ValueError("with server=, the world model is the server's: drop checkpoint=, device= and dtype= "
                         "(choose them with start_servers(checkpoint=..., dtype=...))")
    return dataclasses.replace(options, server=None)


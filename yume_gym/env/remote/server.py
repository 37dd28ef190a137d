"""The world server: one world model on one device, batching the rows of many env clients.

Clients attach rows with their env options; ``reset``/``step`` requests wait a short window
(or until every attached row has asked) and then run together as one batched call of
:class:`~yume_gym.env.core.WorldEnvCore`, as the in-process vector env steps its rows.
Plain asyncio: :func:`yume_gym.env.remote.pool.start_servers` runs it as a Ray actor.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import numpy as np
import torch

from yume_gym.actions import to_action_id
from yume_gym.env.core import WorldEnvCore, build_core, resolve_world_model
from yume_gym.env.options import EnvOptions
from yume_gym.world.bundle import WorldModel
from yume_gym.world.released import Yume5BOptions, load_yume5b


@dataclass(frozen=True)
class ServerOptions:
    """Everything a pool of world servers is started with (see ``start_servers``)."""

    checkpoint: Any = None
    """None (the embedded model), a bundle directory, or a Yume5BOptions of a released Yume-5B"""
    rows: int = 16
    """worlds one server holds for all its clients together; size it to the device's memory"""
    window_s: float = 0.01
    """how long a request waits for other clients' requests before its batch runs"""
    num_gpus_per_server: float | None = None
    """GPUs per server: None takes 1 when the Ray cluster has GPUs, else 0 (a CPU server)"""
    num_cpus_per_server: float = 1
    """CPUs Ray reserves for each server"""
    threads: int | None = None
    """torch CPU threads in each server; None keeps torch's default"""
    dtype: torch.dtype | str = torch.float32
    """precision of a bundle checkpoint's model (a Yume5BOptions carries its own)"""
    max_restarts: int = 3
    """how often Ray restarts a server that died (its clients' next reset() re-attaches)"""
    timeout_s: float = 300.0
    """seconds a client waits for any server call before it fails with a WorldServerError"""
    name: str = "yume-world-server"
    """servers are the Ray actors named f"{name}-{i}\""""

    def __post_init__(self) -> None:
        if not isinstance(self.rows, int) or self.rows < 1:
            raise ValueError(f"rows={self.rows!r} must be a positive integer (worlds per server)")
        if not self.window_s >= 0:
            raise ValueError(f"window_s={self.window_s!r} must be a number of seconds >= 0")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s={self.timeout_s!r} must be a positive number of seconds")


class ServerFullError(RuntimeError):
    """The server has fewer free rows than a client asked for."""


class UnknownAttachmentError(LookupError):
    """The server does not know the client's rows: it restarted, or the env was closed."""


@dataclass
class _Attachment:
    options: EnvOptions
    group: str
    slots: list[int]
    started: set[int] = field(default_factory=set)


@dataclass
class _Request:
    kind: str  # "reset" or "step"
    attachment: _Attachment
    rows: list[int]  # the client's row indices
    future: asyncio.Future
    actions: list[Any] = field(default_factory=list)  # step: one per row
    seeds: list[int] = field(default_factory=list)  # reset: one per row
    options: dict[str, Any] | None = None  # reset options
    options_key: str = ""  # equal reset options, equal keys: they start in one batch

    def batch_key(self) -> tuple[str, str, str]:
        """Requests with equal keys run in one core call."""
        return self.kind, self.attachment.group, self.options_key


@dataclass
class ServerStats:
    """What a server has run since it started (or since ``reset_stats``)."""

    batches: int = 0
    """batched step calls of a core"""
    rows_stepped: int = 0
    """rows those calls advanced"""
    resets: int = 0
    """batched reset calls"""
    text_s: float = 0.0
    """seconds encoding captions, summed over step batches"""
    sample_s: float = 0.0
    """seconds sampling, summed over step batches"""
    decode_s: float = 0.0
    """seconds decoding, summed over step batches"""
    step_s: float = 0.0
    """seconds of whole batched step calls (core, rewards, observations)"""

    @property
    def mean_batch(self) -> float:
        return self.rows_stepped / self.batches if self.batches else 0.0


class WorldServer:
    """Serves ``options.rows`` worlds of one world model to env clients (see the module doc).

    Clients with equal env options share one core, so their rows step in one batched pass;
    clients with other options (another reward, frame size, ...) get a core of their own.
    Every call that touches a model runs on one worker thread, in arrival order.
    """

    def __init__(self, options: ServerOptions, name: str, device: str) -> None:
        if options.threads:
            torch.set_num_threads(options.threads)
        self.options = options
        self.name = name
        self.model = _load_model(options.checkpoint, device, options.dtype)
        self._cores: dict[str, WorldEnvCore] = {}
        self._attachments: dict[str, _Attachment] = {}
        self._free = list(range(options.rows))
        self._pending: list[_Request] = []
        self._arrived: asyncio.Event | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="world")
        self._stats = ServerStats()

    # ------------------------------------------------------------------------- attaching
    def device(self) -> str:
        """The device the model runs on."""
        return str(self.model.device)

    def load(self) -> int:
        """Rows attached now."""
        return self.options.rows - len(self._free)

    async def attach(self, options: EnvOptions, group: str, num_rows: int) -> dict[str, Any]:
        """Give a client ``num_rows`` rows run with ``options`` (equal ``group`` keys share a core;
        its ``return_frames`` decides whether infos carry frames)."""
        if num_rows > len(self._free):
            raise ServerFullError(f"world server {self.name!r} has {len(self._free)} of {self.options.rows} rows free, "
                               f"{num_rows} asked; start more servers or more rows (start_servers(rows=...))")
        core = await self._run(self._core_for, options, group)
        attachment_id = uuid.uuid4().hex
        slots, self._free = self._free[:num_rows], self._free[num_rows:]
        self._attachments[attachment_id] = _Attachment(options, group, slots)
        return {"attachment": attachment_id, "server": self.name, "model": self.model.describe(),
                "fps": self.model.fps, "chunk_frames": self.model.chunk_frames,
                "action_space": core.single_action_space, "observation_space": core.single_observation_space}

    def _core_for(self, options: EnvOptions, group: str) -> WorldEnvCore:
        if group not in self._cores:
            self._cores[group] = build_core(dataclasses.replace(options, checkpoint=self.model), self.options.rows)[0]
        return self._cores[group]

    def detach(self, attachment_id: str) -> None:
        """Free a client's rows (unknown ids are ignored: the rows are already gone)."""
        attachment = self._attachments.pop(attachment_id, None)
        if attachment is not None:
            self._free.extend(attachment.slots)

    # ------------------------------------------------------------------------ reset, step
    async def reset(self, attachment_id: str, rows: Sequence[int], seeds: Sequence[int],
                    options: dict[str, Any] | None, options_key: str) -> tuple[np.ndarray, list[dict]]:
        """Start the client's ``rows`` on ``seeds``; batched with resets of equal options."""
        attachment = self._attachment(attachment_id)
        rows = self._check_rows(attachment, rows)
        obs, infos = await self._submit(_Request("reset", attachment, rows, self._future(), seeds=list(seeds),
                                                 options=options, options_key=options_key))
        attachment.started.update(rows)
        return obs, infos

    async def step(self, attachment_id: str, rows: Sequence[int], actions: Sequence[Any]):
        """Advance the client's ``rows``; batched with every other client's steps."""
        attachment = self._attachment(attachment_id)
        rows = self._check_rows(attachment, rows)
        if not attachment.started.issuperset(rows):
            raise RuntimeError("step() was called before reset(); call env.reset() first")
        kind = self._cores[attachment.group].action_kind
        for action in actions:
            to_action_id(action, kind)  # a bad action fails its own request only
        if len(actions) != len(rows):
            raise ValueError(f"got {len(actions)} actions for {len(rows)} envs; pass one per env")
        return await self._submit(_Request("step", attachment, rows, self._future(), actions=list(actions)))

    @staticmethod
    def _future() -> asyncio.Future:
        return asyncio.get_running_loop().create_future()

    async def _submit(self, request: _Request):
        """Queue ``request`` for the next batch and wait for its share of the results."""
        if self._arrived is None:
            self._arrived = asyncio.Event()
            asyncio.get_running_loop().create_task(self._serve())
        self._pending.append(request)
        self._arrived.set()
        return await request.future

    async def _serve(self) -> None:
        """Forever: wait for a request, gather others for up to the window, run them as batches."""
        loop = asyncio.get_running_loop()
        while True:
            await self._arrived.wait()
            deadline = loop.time() + self.options.window_s
            while sum(len(r.rows) for r in self._pending) < self.load() and loop.time() < deadline:
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
                except asyncio.TimeoutError:
                    break
            batch, self._pending = self._pending, []
            self._arrived.clear()
            for request, outcome in await self._run(self._run_batch, batch):
                if not request.future.done():
                    (request.future.set_exception if isinstance(outcome, BaseException)
                     else request.future.set_result)(outcome)

    def _run_batch(self, batch: list[_Request]) -> list[tuple[_Request, Any]]:
        """Run ``batch`` as one core call per group of compatible requests."""
        outcomes = []
        for _, same in groupby(sorted(batch, key=_Request.batch_key), key=_Request.batch_key):
            same = list(same)
            try:
                outcomes += zip(same, self._run_group(same))
            except Exception as err:  # the group's requests fail together, other groups go on
                outcomes += [(r, err) for r in same]
        return outcomes

    def _run_group(self, requests: list[_Request]) -> list[tuple]:
        first = requests[0]
        core = self._cores[first.attachment.group]
        slots = [r.attachment.slots[row] for r in requests for row in r.rows]
        if first.kind == "reset":
            results = core.reset(slots, [s for r in requests for s in r.seeds], first.options)
            self._stats.resets += 1
        else:
            t0 = time.perf_counter()
            results = core.step(slots, [a for r in requests for a in r.actions])
            self._count_step(len(slots), results[-1], time.perf_counter() - t0)
        split, start = [], 0
        for r in requests:
            part = slice(start, start + len(r.rows))
            split.append(tuple(x[part] for x in results))
            start = part.stop
        return split

    def _count_step(self, rows: int, infos: list[dict], seconds: float) -> None:
        timings = infos[0]["timings"]
        stats = self._stats
        stats.batches += 1
        stats.rows_stepped += rows
        stats.text_s += timings.text_s
        stats.sample_s += timings.sample_s
        stats.decode_s += timings.decode_s
        stats.step_s += seconds

    # ----------------------------------------------------------------------- row services
    async def render(self, attachment_id: str, row: int) -> np.ndarray:
        attachment = self._attachment(attachment_id)
        return await self._run(self._cores[attachment.group].render, self._slot(attachment, row))

    async def set_event(self, attachment_id: str, row: int, text: str | None) -> None:
        attachment = self._attachment(attachment_id)
        await self._run(self._cores[attachment.group].set_event, self._slot(attachment, row), text)

    async def get_state(self, attachment_id: str, row: int):
        attachment = self._attachment(attachment_id)
        return await self._run(self._cores[attachment.group].get_state, self._slot(attachment, row))

    async def set_state(self, attachment_id: str, row: int, snapshot) -> np.ndarray:
        attachment = self._attachment(attachment_id)
        obs = await self._run(self._cores[attachment.group].set_state, self._slot(attachment, row), snapshot)
        attachment.started.add(row)
        return obs

    def stats(self) -> ServerStats:
        """A copy of the server's statistics."""
        return dataclasses.replace(self._stats)

    def reset_stats(self) -> None:
        self._stats = ServerStats()

    # ---------------------------------------------------------------------------- helpers
    async def _run(self, fn, *args):
        """Run ``fn(*args)`` on the model's worker thread, after the calls queued before it."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    def _attachment(self, attachment_id: str) -> _Attachment:
        if attachment_id not in self._attachments:
            raise UnknownAttachmentError(
                f"world server {self.name!r} does not know these rows (it restarted, or the env was "
                "closed); call reset() to attach again")
        return self._attachments[attachment_id]

    def _check_rows(self, attachment: _Attachment, rows: Sequence[int]) -> list[int]:
        rows = [int(r) for r in rows]
        n = len(attachment.slots)
        if any(not 0 <= r < n for r in rows) or len(set(rows)) != len(rows):
            raise ValueError(f"rows {rows} must be distinct indices in 0..{n - 1}")
        return rows

    def _slot(self, attachment: _Attachment, row: int) -> int:
        row = self._check_rows(attachment, [row])[0]
        if row not in attachment.started:
            raise RuntimeError("this env has not been reset; call env.reset() first")
        return attachment.slots[row]


def _load_model(checkpoint: Any, device: str, dtype: torch.dtype | str) -> WorldModel:
    """The served model: a released Yume-5B for Yume5BOptions, else as the local env loads it."""
    if isinstance(checkpoint, Yume5BOptions):
        return load_yume5b(checkpoint)
    return resolve_world_model(checkpoint, device, dtype)

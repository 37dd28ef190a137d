"""A batch of world sessions: B generated worlds that share one world model.

Each world (a *row*) starts from an image, a text prompt, or both, and then advances one chunk
of video per action. Advancing several rows is one batched pass of the few-step sampler, with
each row's own action, event text and random stream. The single env and the vector env are
views of this class. Starts, captions, events, history and batching: docs/architecture.md.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np
import torch
from einops import rearrange, repeat
from torch import Tensor

from yume_gym.actions import NUM_ACTIONS, caption_for_action
from yume_gym.events import (
    MAX_PROMPT_CHARS,
    scene_text,
    validate_event_text,
    validate_schedule,
    validate_step,
    validate_text,
)
from yume_gym.world.guidance import GuidanceTerm, caption_guidance_terms
from yume_gym.images import ImageLike, prepare_image
from yume_gym.world.residual_flow import from_flow_space
from yume_gym.sampling import combine_guided, noise_like, sample
from yume_gym.world.bundle import WorldModel
from yume_gym.world.captions import Caption, caption_text, compose

NOOP_ACTION = 0
DECODE_MODES = ("all", "last", "none")


@dataclass(frozen=True)
class WorldStart:
    """How one world starts: a seed for its random stream and an image, a prompt, or both.

    ``events`` is a schedule validated by :func:`yume_gym.events.validate_schedule`:
    ``(step, text)`` pairs in increasing step order, a None text clearing the event.
    """

    seed: int
    image: ImageLike | None = None
    prompt: str | None = None
    events: tuple[tuple[int, str | None], ...] = ()


@dataclass
class Chunk:
    """One generated chunk for each of n rows.

    ``latents`` (n, C, F, h, w) float32 on the CPU; ``frames`` (n, T, H, W, 3) uint8, only the
    last frame (T = 1) or None when no more was decoded;
    ``timings`` in seconds for the whole batch (text encoding, sampling, decoding, total).
    """

    rows: list[int]
    latents: Tensor
    frames: np.ndarray | None
    captions: list[str]
    events: list[str | None]
    steps: list[int]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WorldSnapshot:
    """Everything that determines one world's future: restoring it replays the same frames."""

    history: Tensor  # (C, H, h, w), CPU
    rng_state: Tensor  # torch.Generator state (uint8)
    step: int
    schedule: tuple[tuple[int, str | None], ...]
    event: str | None
    prompt: str | None
    last_latents: Tensor  # (C, F, h, w), CPU
    last_frames: np.ndarray | None  # (T, H, W, 3) uint8, None when not decoded
    last_caption: str


@dataclass
class _Session:
    generator: torch.Generator
    history: Tensor | None = None  # (C, H, h, w) on the model's device
    step: int = 0
    schedule: tuple[tuple[int, str | None], ...] = ()
    event: str | None = None
    prompt: str | None = None
    last_latents: Tensor | None = None  # (C, F, h, w), CPU float32
    last_frames: np.ndarray | None = None  # (T, H, W, 3) uint8
    last_caption: str = ""


class WorldBatch:
    """``num_worlds`` worlds sharing one :class:`~yume_gym.world.bundle.WorldModel`.

    >>> from yume_gym.world.bundle import build_world_model
    >>> world = WorldBatch(build_world_model(frame_size=32), num_worlds=2)
    >>> opening = world.start([0, 1], [WorldStart(seed=0, prompt="a beach"), WorldStart(seed=1)])
    >>> chunk = world.advance([0, 1], [1, 10])
    >>> chunk.frames.shape[0], chunk.frames.shape[-1], chunk.frames.dtype
    (2, 3, dtype('uint8'))
    """

    def __init__(self, model: WorldModel, num_worlds: int = 1) -> None:
        if not isinstance(model, WorldModel):
            raise TypeError(f"model must be a WorldModel (see load_world_model), got {type(model).__name__}")
        if not isinstance(num_worlds, int) or num_worlds < 1:
            raise ValueError(f"num_worlds={num_worlds!r} must be a positive integer")
        self.model = model
        self.num_worlds = num_worlds
        self._sessions: list[_Session | None] = [None] * num_worlds

    # ----------------------------------------------------------------------------- starting
    def start(self, rows: Sequence[int], starts: Sequence[WorldStart], decode: str = "all") -> Chunk:
        """Start (or restart) ``rows``; returns their opening chunk (step 0). ``decode`` as in
        :meth:`advance` (for text starts; an image start's frames are the image)."""
        rows = self._check_rows(rows)
        _check_decode(decode)
        if len(starts) != len(rows):
            raise ValueError(f"got {len(starts)} starts for {len(rows)} rows; pass one WorldStart per row")
        t0 = time.perf_counter()
        height, width = self.model.frame_size
        images = {r: prepare_image(s.image, height, width) for r, s in zip(rows, starts) if s.image is not None}
        sessions = [_new_session(start) for start in starts]  # validate every start before changing any row
        for row, session in zip(rows, sessions):
            self._sessions[row] = session
        if images:
            self._start_from_images(list(images), np.stack(list(images.values())))
        text_rows = [r for r in rows if r not in images]
        if text_rows:
            self._generate_and_decode(text_rows, [NOOP_ACTION] * len(text_rows), decode)
        return self._collect(rows, {"total_s": time.perf_counter() - t0})

    def _start_from_images(self, rows: list[int], fitted: np.ndarray) -> None:
        """Encode fitted images (n, H, W, 3) uint8, repeated to one chunk; its first
        ``image_history_latents`` latents become the rows' history."""
        frames = repeat(fitted, "n h w c -> n t h w c", t=self.model.chunk_frames)  # (n, T, H, W, 3)
        video = torch.from_numpy(rearrange(frames, "n t h w c -> n c t h w").copy())  # (n, 3, T, H, W)
        video = video.to(self.model.device, self.model.dtype) / 127.5 - 1.0
        with torch.no_grad():
            latents = self.model.codec.encode(video).to(self.model.dtype)  # (n, C, F, h, w)
        kept = self.model.generation.image_history_latents or latents.shape[2]
        for i, row in enumerate(rows):
            session = self._session(row)
            session.history = latents[i, :, :kept]  # (C, kept, h, w)
            session.last_latents = latents[i].float().cpu()
            session.last_frames = np.ascontiguousarray(frames[i])
            session.last_caption = ""

    # ----------------------------------------------------------------------------- stepping
    def advance(self, rows: Sequence[int], action_ids: Sequence[int], decode: str = "all") -> Chunk:
        """Advance ``rows`` by one chunk each, row ``rows[i]`` taking ``action_ids[i]`` (0..80).

        ``decode`` is one of :data:`DECODE_MODES`: "all" frames; "last" at least the last frame
        (only it where the codec decodes latents separately); "none" only latents
        (``Chunk.frames`` None). The next chunk needs only the latent history either way.
        """
        _check_decode(decode)
        rows = self._check_rows(rows)
        if len(action_ids) != len(rows):
            raise ValueError(f"got {len(action_ids)} actions for {len(rows)} rows; pass one per row")
        for a in action_ids:
            if not isinstance(a, (int, np.integer)) or not 0 <= int(a) < NUM_ACTIONS:
                raise ValueError(f"action id {a!r} must be an integer in 0..{NUM_ACTIONS - 1}")
        for row in rows:
            session = self._session(row)
            session.step += 1
            _apply_schedule(session)
        timings = self._generate_and_decode(rows, [int(a) for a in action_ids], decode)
        return self._collect(rows, timings)

    def _generate_and_decode(self, rows: list[int], action_ids: list[int], decode: str) -> dict[str, float]:
        """Sample one chunk per row (grouped by history length), append it, decode what ``decode`` asks."""
        model, sessions = self.model, [self._session(r) for r in rows]
        t0 = time.perf_counter()
        g = model.generation

        def encode(captions: list[Caption]) -> Tensor:  # (n, L, D), one or two parts per caption
            return model.text_encoder.encode_batch(compose(captions, g.caption_composition))

        texts = [(caption_for_action(a, model.speed), scene_text(s.prompt, s.event))
                 for a, s in zip(action_ids, sessions)]
        context = encode(texts).to(model.device, model.dtype)  # (n, L, D)
        terms = caption_guidance_terms(
            {"text": g.guidance, "movement": g.movement_guidance, "rotation": g.rotation_guidance,
             "event": g.event_guidance},
            action_ids, [s.prompt for s in sessions], [s.event for s in sessions], context,
            lambda a: caption_for_action(a, model.speed), encode,
        )
        t1 = _clock(model.device)
        latents = torch.empty((len(rows), *model.chunk_latent_shape), device=model.device, dtype=model.dtype)
        order = sorted(range(len(rows)), key=lambda i: _history_len(sessions[i]))
        for _, group in groupby(order, key=lambda i: _history_len(sessions[i])):
            idx = list(group)
            latents[idx] = self._sample_group([sessions[i] for i in idx], context[idx], [t.rows(idx) for t in terms])
        t2 = _clock(model.device)
        if decode == "last" and model.codec.decodes_latents_separately:
            frames_np = self._decode(latents[:, :, -1:])[:, -1:]  # (n, 1, H, W, 3): the last frame only
        elif decode == "none":
            frames_np = [None] * len(rows)
        else:
            frames_np = self._decode(latents)  # (n, T, H, W, 3) uint8
        latents_cpu = latents.float().cpu()
        for i, session in enumerate(sessions):
            session.history = _append_history(session.history, latents[i], model.max_history_latents)
            session.last_latents = latents_cpu[i]
            session.last_frames = frames_np[i]
            session.last_caption = caption_text(texts[i], g.caption_composition)
        t3 = time.perf_counter()
        return {"text_s": t1 - t0, "sample_s": t2 - t1, "decode_s": t3 - t2, "total_s": t3 - t0}

    @torch.no_grad()
    def _decode(self, latents: Tensor) -> np.ndarray:
        """Decode (n, C, F, h, w) latents to frames (n, T, H, W, 3) uint8, row by row on a CPU.

        The codec's activations are large next to the CPU's caches: one row at a time measured
        89 ms per row against 163 ms per row for 16 rows at once (tiny codec, 64x64). Decoding
        each row alone also makes a row's frames independent of its batch. Accelerators
        decode the whole batch in one call.
        """
        if latents.device.type != "cpu":
            video = self.model.codec.decode(latents)  # (n, 3, T, H, W) in [-1, 1]
        else:
            video = torch.cat([self.model.codec.decode(row) for row in latents.split(1)])
        frames = ((video.float() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return rearrange(frames, "n c t h w -> n t h w c").cpu().numpy()  # (n, T, H, W, 3)

    def _sample_group(self, sessions: list[_Session], context: Tensor, terms: list[GuidanceTerm]) -> Tensor:
        """One batched few-step sampling pass for rows whose histories have one length; each
        active guidance term adds the rows once more under its negative context."""
        model = self.model
        noise = noise_like(
            (len(sessions), *model.chunk_latent_shape), [s.generator for s in sessions], model.dtype, model.device
        )  # (g, C, F, h, w)
        history = None
        if sessions[0].history is not None:
            history = torch.stack([s.history for s in sessions])  # (g, C, Hh, h, w)
        terms = [t for t in terms if t.active]
        copies = 1 + len(terms)
        scales = [t.scales.to(model.device, model.dtype) for t in terms]

        def tiled(x: Tensor | None) -> Tensor | None:  # (g, ...) -> (copies * g, ...); unguided: x itself
            return x if x is None or copies == 1 else x.repeat(copies, *([1] * (x.ndim - 1)))

        contexts = torch.cat([context] + [t.negative for t in terms]) if terms else context  # (copies*g, L, D)
        with torch.no_grad():
            # shared by every step
            conditioning = model.generator.condition(tiled(noise), contexts, tiled(history))

            def velocity(x: Tensor, t: Tensor) -> Tensor:
                v = model.generator(tiled(x), tiled(t), conditioning=conditioning)  # (copies * g, C, F, h, w)
                return combine_guided(v, *scales) if terms else v  # (g, C, F, h, w)

            return from_flow_space(sample(velocity, noise, model.schedule), history, model.generation.residual_scale)

    def _collect(self, rows: list[int], timings: dict[str, float]) -> Chunk:
        sessions = [self._session(r) for r in rows]
        return Chunk(
            rows=list(rows),
            latents=torch.stack([s.last_latents for s in sessions]),
            frames=None if any(s.last_frames is None for s in sessions) else np.stack([s.last_frames for s in sessions]),
            captions=[s.last_caption for s in sessions],
            events=[s.event for s in sessions],
            steps=[s.step for s in sessions],
            timings=timings,
        )

    # ------------------------------------------------------------------------ events, state
    def set_event(self, row: int, text: str | None) -> None:
        """Make ``text`` the active event of ``row`` from its next chunk on; None clears it."""
        if text is not None and not isinstance(text, str):
            raise TypeError(f"event text must be a string or None, got {type(text).__name__}")
        self._session(row).event = text or None

    def last_chunk(self, row: int) -> Chunk:
        """The most recent chunk of ``row`` (the opening chunk right after a start)."""
        return self._collect([row], {})

    def get_state(self, row: int) -> WorldSnapshot:
        """A snapshot of ``row`` (copied to the CPU) that :meth:`set_state` restores exactly."""
        s = self._session(row)
        return WorldSnapshot(
            history=s.history.detach().to("cpu", copy=True),
            rng_state=s.generator.get_state(),
            step=s.step,
            schedule=s.schedule,
            event=s.event,
            prompt=s.prompt,
            last_latents=s.last_latents.clone(),
            last_frames=None if s.last_frames is None else s.last_frames.copy(),
            last_caption=s.last_caption,
        )

    def set_state(self, row: int, snapshot: WorldSnapshot) -> None:
        """Restore ``row`` from a :meth:`get_state` snapshot (of this or another row/batch)."""
        if not isinstance(snapshot, WorldSnapshot):
            raise TypeError(f"snapshot must be a WorldSnapshot from get_state(), got {type(snapshot).__name__}")
        expected = (self.model.chunk_latent_shape[0], *self.model.chunk_latent_shape[2:])
        found = (snapshot.history.shape[0], *snapshot.history.shape[2:])
        if found != expected:
            raise ValueError(
                f"snapshot history has latent shape (C, h, w) = {found}; this world model makes {expected}"
            )
        validate_step(snapshot.step, "snapshot step")
        schedule = tuple(validate_schedule(list(snapshot.schedule)))
        validate_event_text(snapshot.event, "snapshot event")
        if snapshot.prompt is not None:
            validate_text(snapshot.prompt, "snapshot prompt", MAX_PROMPT_CHARS, "prompts")
        generator = torch.Generator(device="cpu")
        generator.set_state(snapshot.rng_state.clone())
        self._sessions[self._check_rows([row])[0]] = _Session(
            generator=generator,
            history=snapshot.history.to(self.model.device, self.model.dtype),
            step=snapshot.step,
            schedule=schedule,
            event=snapshot.event,
            prompt=snapshot.prompt,
            last_latents=snapshot.last_latents.clone(),
            last_frames=None if snapshot.last_frames is None else snapshot.last_frames.copy(),
            last_caption=snapshot.last_caption,
        )

    def is_started(self, row: int) -> bool:
        """Whether ``row`` has been started."""
        return self._sessions[self._check_rows([row])[0]] is not None

    def _session(self, row: int) -> _Session:
        session = self._sessions[row]
        if session is None:
            raise RuntimeError(f"world {row} has not been started; call start() (env.reset()) first")
        return session

    def _check_rows(self, rows: Sequence[int]) -> list[int]:
        rows = [int(r) for r in rows]
        bad = [r for r in rows if not 0 <= r < self.num_worlds]
        if bad or len(set(rows)) != len(rows):
            raise ValueError(f"rows {rows} must be distinct indices in 0..{self.num_worlds - 1}")
        return rows


def _check_decode(decode: object) -> None:
    if decode not in DECODE_MODES:
        raise ValueError(f"decode={decode!r} is not known; use one of {list(DECODE_MODES)}")


def _new_session(start: WorldStart) -> _Session:
    if not isinstance(start, WorldStart):
        raise TypeError(f"start must be a WorldStart, got {type(start).__name__}")
    if start.prompt is not None and not isinstance(start.prompt, str):
        raise TypeError(f"prompt must be a string, got {type(start.prompt).__name__}")
    generator = torch.Generator(device="cpu")
    generator.manual_seed(int(start.seed))
    session = _Session(generator=generator, schedule=tuple(start.events), prompt=start.prompt or None)
    _apply_schedule(session)
    return session


def _apply_schedule(session: _Session) -> None:
    """Activate the schedule's events for the session's current step (the last one wins)."""
    for step, text in session.schedule:
        if step == session.step:
            session.event = text or None


def _clock(device: torch.device) -> float:
    """``time.perf_counter()`` after the device's queued work has finished."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _history_len(session: _Session) -> int:
    return 0 if session.history is None else session.history.shape[1]


def _append_history(history: Tensor | None, chunk: Tensor, limit: int | None) -> Tensor:
    """``history`` (C, H, h, w) + ``chunk`` (C, F, h, w); beyond ``limit``, drop the oldest after the first."""
    history = chunk if history is None else torch.cat([history, chunk], dim=1)  # (C, H + F, h, w)
    if limit is not None and history.shape[1] > limit:
        history = torch.cat([history[:, :1], history[:, history.shape[1] - limit + 1 :]], dim=1)
    return history

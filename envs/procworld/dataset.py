"""``yume-gym data procworld``: write clips of the procedural world as safetensors shards.

Each clip is a random scene walked by a scripted person: actions are held for random
durations (mostly forward, with turns, strafes, stops and the odd look up or down), and in a
share of clips an event starts mid-clip; in another share the person walks from object to
object instead (:mod:`procworld.approach`). Clip ``i`` of a dataset with seed ``s`` depends only
on ``(s, i)`` and the frame settings, so any clip can be made again on its own
(:func:`make_clip`). Shards are written atomically (a temporary file, then ``os.replace``);
re-running the command skips shards that are already complete. The format is documented in
``docs/dataset.md``; :func:`read_shard` reads a shard back.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file
from tqdm import tqdm

from procworld.approach import Approacher
from procworld.camera import PITCH_LIMIT
from procworld.captions import scene_caption
from procworld.events import parse_event, sample_event_text
from procworld.scene import build_scene, random_spec
from procworld.sim import ProcWorld
from yume_gym.actions import NUM_ROTATIONS, ROTATION_INDEX, SpeedSuffix, caption_for_action
from yume_gym.atomic_file import atomic_path, write_text_atomic
from yume_gym.events import MAX_PROMPT_CHARS, validate_event_text, validate_text
from yume_gym.options import REQUIRED, option, parse_args

FORMAT = "procworld-clips"
VERSION = 1
FPS = 16
# Behaviour policy: probabilities over the movement and rotation indices of yume_gym.actions.
MOVEMENT_PROBS = np.array([0.14, 0.42, 0.07, 0.06, 0.07, 0.08, 0.08, 0.04, 0.04])
ROTATION_PROBS = np.array([0.46, 0.12, 0.12, 0.06, 0.06, 0.045, 0.045, 0.045, 0.045])


@dataclass(frozen=True)
class DataConfig:
    """What a dataset is made of; everything but ``clips`` must match to resume a directory."""

    clips: int = 1000
    frames: int = 49
    size: int = 64
    seed: int = 0
    shard_clips: int = 64
    event_share: float = 0.5
    appear_share: float | None = None  # share of events that spawn an object (None: one kind of seven)
    speed: tuple[float, float, float] = (4.0, 2.0, 2.0)  # SpeedSuffix(distance, turn_speed, view_speed)
    event_frames: int = 16
    hold: tuple[int, int] = (4, 40)  # an action is held for this many frames (inclusive range)
    align: int = 1  # holds and event starts fall on frames 1 + align*k (chunk boundaries after the start frame)
    approach_share: float = 0.0  # share of clips walked from object to object (procworld.approach)
    approach_random: float = 0.0  # share of an approach walk's holds handed to the random walker
    version: int = field(default=VERSION)

    def __post_init__(self) -> None:
        checks = {
            "clips": self.clips >= 1, "frames": self.frames >= 2, "size": 8 <= self.size <= 512,
            "shard_clips": self.shard_clips >= 1, "event_share": 0.0 <= self.event_share <= 1.0,
            "event_frames": self.event_frames >= 1, "hold": 1 <= self.hold[0] <= self.hold[1],
            "align": 1 <= self.align <= self.hold[1], "approach_share": 0.0 <= self.approach_share <= 1.0,
            "approach_random": 0.0 <= self.approach_random <= 1.0,
            "appear_share": self.appear_share is None or 0.0 <= self.appear_share <= 1.0,
        }  # fmt: skip
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = [getattr(self, b) for b in bad]
            raise ValueError(f"invalid dataset settings {bad}: {values}; see --help for the ranges")

    @property
    def num_shards(self) -> int:
        return math.ceil(self.clips / self.shard_clips)

    def shard_range(self, shard: int) -> range:
        return range(shard * self.shard_clips, min(self.clips, (shard + 1) * self.shard_clips))


def make_clip(index: int, config: DataConfig) -> dict[str, Any]:
    """Clip ``index`` of the dataset ``config`` describes: arrays and a JSON-ready record.

    Returns a dict with ``frames`` (T, H, W, 3) uint8, ``actions`` (T,) int16 (the action that
    moved the camera to each frame), ``poses`` (T, 4) float32 and ``record`` (captions,
    seeds, event, action segments).
    """
    rng = np.random.default_rng([config.seed, index])
    spec = random_spec(rng)
    scene_seed = int(rng.integers(2**31 - 1))
    speed = SpeedSuffix(*config.speed)
    world = ProcWorld(build_scene(spec, scene_seed), (config.size, config.size), speed, config.event_frames)
    event_text, event_start = None, -1
    if rng.random() < config.event_share:
        event_text = sample_event_text(rng, config.appear_share)
        event_start = int(rng.integers(config.frames // 4, 3 * config.frames // 4 + 1))
        event_start = _align(event_start, config.align)
    approacher = Approacher() if _walks_to_objects(index, config) else None
    frames, poses, actions, segments = [], [], [], []
    t = 0
    while t < config.frames:
        planned = None if approacher is None else approacher.plan(world)
        if planned is not None and config.approach_random > 0 and rng.random() < config.approach_random:
            planned = None  # a random hold mid-walk: near an object every key shows in the view
        action, hold = planned if planned is not None else (sample_action(rng, float(world.pose[3])), None)
        hold = int(rng.integers(config.hold[0], config.hold[1] + 1)) if hold is None else hold
        stop = _align(t + hold, config.align)
        stop = min(config.frames, max(stop, t + 1))
        caption = caption_for_action(action, speed)
        segments.append({"start": t, "stop": stop, "action_id": action, "caption": caption})
        for start, end in _split(t, stop, event_start):
            if start == event_start:
                world.trigger(event_text)
            f, p, _ = world.advance([action] * (end - start))
            frames.append(f)
            poses.append(p)
        actions += [action] * (stop - t)
        t = stop
    record = {
        "index": index, "scene": scene_caption(spec), "scene_seed": scene_seed, "event": event_text,
        "event_canonical": None if event_text is None else parse_event(event_text).text,
        "event_start": event_start, "walker": "random" if approacher is None else "approach",
        "segments": segments,
    }  # fmt: skip
    return {
        "frames": np.concatenate(frames), "actions": np.asarray(actions, dtype=np.int16),
        "poses": np.concatenate(poses).astype(np.float32), "record": record,
    }  # fmt: skip


def _walks_to_objects(index: int, config: DataConfig) -> bool:
    """Whether clip ``index`` is walked by an :class:`Approacher`; drawn from a stream of its own,
    so that the clips of a dataset without approach walks stay what they were."""
    draw = np.random.default_rng([config.seed, index, 1]).random()
    return config.approach_share > 0 and draw < config.approach_share


def sample_action(rng: np.random.Generator, pitch: float) -> int:
    """A walker's next action: mostly forward and level; looks back toward level when tilted."""
    movement = int(rng.choice(len(MOVEMENT_PROBS), p=MOVEMENT_PROBS))
    rotation = int(rng.choice(len(ROTATION_PROBS), p=ROTATION_PROBS))
    if abs(pitch) > 0.4 * PITCH_LIMIT and rng.random() < 0.6:
        rotation = ROTATION_INDEX["↓" if pitch > 0 else "↑"]
    return movement * NUM_ROTATIONS + rotation


def _align(frame: int, align: int) -> int:
    """The nearest frame of the form 1 + align*k at or after ``frame`` (``frame`` when align is 1)."""
    return frame if align == 1 else 1 + align * math.ceil((frame - 1) / align)


def _split(start: int, stop: int, cut: int) -> list[tuple[int, int]]:
    return [(start, cut), (cut, stop)] if start < cut < stop else [(start, stop)]


def write_shard(path: Path, clips: list[dict[str, Any]], config: DataConfig) -> None:
    """Write clips to ``path`` atomically (temporary file in the same folder, then replace)."""
    tensors = {
        "frames": np.stack([c["frames"] for c in clips]),  # (C, T, H, W, 3)
        "actions": np.stack([c["actions"] for c in clips]),  # (C, T)
        "poses": np.stack([c["poses"] for c in clips]),  # (C, T, 4)
        "event_start": np.array([c["record"]["event_start"] for c in clips], dtype=np.int32),
        "clip_index": np.array([c["record"]["index"] for c in clips], dtype=np.int64),
    }
    metadata = {
        "format": FORMAT, "version": str(VERSION), "fps": str(FPS),
        "config": json.dumps(asdict(config)), "clips": json.dumps([c["record"] for c in clips]),
    }  # fmt: skip
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=metadata)


def read_shard(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """The arrays of a shard and its per-clip records (see ``docs/dataset.md``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no shard at {str(path)!r}; check the path")
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise ValueError(f"{str(path)!r} is not a {FORMAT} shard (format {metadata.get('format')!r})")
        records = json.loads(metadata["clips"])
        check_record_texts(records, path)
        return load_file(str(path)), records
    except (SafetensorError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"shard {str(path)!r} is damaged or truncated ({type(err).__name__}: {err}); "
                         "delete it and re-run `yume-gym data procworld` with the same options to write it again") from err


def check_record_texts(records: list[dict[str, Any]], path: Path) -> None:
    """Refuse a shard whose scene, event or caption texts the text encoder could not take."""
    for i, record in enumerate(records):
        where = f"shard {str(path)!r}, clip record {i}"
        validate_text(record["scene"], f"{where} scene", MAX_PROMPT_CHARS, "scene captions")
        validate_event_text(record["event"], f"{where} event")
        for segment in record["segments"]:
            validate_text(segment["caption"], f"{where} caption", MAX_PROMPT_CHARS, "captions")


def shard_path(out: Path, shard: int) -> Path:
    return out / f"shard-{shard:05d}.safetensors"


def _shard_done(path: Path, expected: range) -> bool:
    """True when ``path`` is a complete shard holding exactly the clips ``expected``."""
    if not path.is_file():
        return False
    try:
        with safe_open(str(path), framework="numpy") as f:
            clips = json.loads((f.metadata() or {}).get("clips", "[]"))
    except (OSError, SafetensorError, json.JSONDecodeError):  # a damaged file is written again
        return False
    return [c["index"] for c in clips] == list(expected)


def _check_config(out: Path, config: DataConfig) -> None:
    """Refuse to mix settings in one folder; write ``dataset.json`` atomically otherwise."""
    path = out / "dataset.json"
    mine = asdict(config)
    if path.is_file():
        # a setting added after the folder was written takes its default there (the behaviour before it existed)
        theirs = {**asdict(DataConfig(clips=config.clips)), **json.loads(path.read_text())}
        differs = sorted(k for k in mine if k != "clips" and json.dumps(theirs[k]) != json.dumps(mine[k]))
        if differs:
            raise ValueError(
                f"{str(out)!r} holds a dataset made with other settings ({differs}: "
                f"{[theirs.get(k) for k in differs]}); use the same settings to resume, or another --out"
            )
    write_text_atomic(path, json.dumps({"format": FORMAT, **mine, "fps": FPS}, indent=2))


def write_dataset(out: str | os.PathLike, config: DataConfig, progress: bool = True) -> list[Path]:
    """Write every missing shard of ``config`` under ``out``; returns all shard paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _check_config(out, config)
    paths = [shard_path(out, s) for s in range(config.num_shards)]
    todo = [s for s in range(config.num_shards) if not _shard_done(paths[s], config.shard_range(s))]
    done_clips = config.clips - sum(len(config.shard_range(s)) for s in todo)
    bar = tqdm(total=config.clips, initial=done_clips, unit="clip", disable=not progress, desc="procworld clips")
    with bar:
        for s in todo:
            clips = []
            for i in config.shard_range(s):
                clips.append(make_clip(i, config))
                bar.update(1)
            write_shard(paths[s], clips, config)
    return paths


@dataclass
class DataArgs:
    clips: int = option(REQUIRED, "number of clips")
    out: str = option(REQUIRED, "output folder (created; re-running resumes)")
    frames: int = option(DataConfig.frames, "frames per clip")
    size: int = option(DataConfig.size, "frame height and width in pixels")
    seed: int = option(DataConfig.seed, "dataset seed; clip i depends on (seed, i)")
    shard_clips: int = option(DataConfig.shard_clips, "clips per shard file")
    event_share: float = option(DataConfig.event_share, "share of clips with an event")
    appear_share: float = option(DataConfig.appear_share, "share of the events that make an object appear "
                                 "(default: one kind of seven, like each weather kind)")
    speed: str = option("4,2,2", "speed suffix: distance,turn_speed,view_speed")
    align: int = option(DataConfig.align, "holds and event starts fall on frames 1 + align*k (a world model's chunk length)")
    hold: list[int] = option(list(DataConfig.hold), "a random walker holds each action for MIN..MAX frames (rounded up "
                             "to --align); '--hold 4 4 --align 4' draws a fresh action every chunk",
                             nargs=2, metavar=("MIN", "MAX"))
    approach_share: float = option(DataConfig.approach_share,
                                   "share of clips walked from object to object (turn toward one, walk up to it)")
    approach_random: float = option(DataConfig.approach_random, "share of an approach walk's holds given to the random "
                                    "walker instead, so that near objects the clips show every key, not only the "
                                    "walk toward them")
    quiet: bool = option(False, "no progress bar")

    def __post_init__(self) -> None:
        speed = self.speed.split(",")
        if len(speed) != 3 or not all(_is_number(v) for v in speed):
            raise ValueError(f"--speed {self.speed!r} must be three numbers, e.g. 4,2,2")
        self.config = DataConfig(  # checks every value; a ValueError becomes a usage error
            clips=self.clips, frames=self.frames, size=self.size, seed=self.seed, shard_clips=self.shard_clips,
            event_share=self.event_share, appear_share=self.appear_share, speed=tuple(float(v) for v in speed),
            align=self.align, hold=tuple(self.hold), approach_share=self.approach_share,
            approach_random=self.approach_random,
        )


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym data procworld``; returns the exit status."""
    args = parse_args(DataArgs, argv, "yume-gym data procworld", __doc__.splitlines()[0])
    paths = write_dataset(args.out, args.config, progress=not args.quiet)
    print(f"{args.config.clips} clips in {len(paths)} shards under {args.out}")
    return 0


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False

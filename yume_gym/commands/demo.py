"""``yume-gym demo``: walk a scripted route through a generated world and write it to video.

Starts a world from a prompt and, by default, the first frame of the procworld scene that the
prompt describes (the embedded model was trained on procworld, so its worlds start best from
such an image; ``--start text`` starts from the prompt alone, as any prompt may), walks a fixed
route of keyboard/camera actions, triggers an event midway, and records it with :class:`yume_gym.env.recorder.ChunkRecorder` (held keys and event drawn
on the frames): ``demo.mp4`` and its sidecar ``demo.json`` (each step's keys, caption, event,
plus a "demo" summary: the model, whether it is trained, timings). It prints a summary and
whether the model is the trained embedded one or its random-weight stand-in.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
from procworld.captions import parse_caption
from procworld.scene import build_scene
from procworld.sim import ProcWorld

import yume_gym  # noqa: F401  (registers the env ids)
from yume_gym.actions import action_from_keys
from yume_gym.atomic_file import write_text_atomic
from yume_gym.env.recorder import ChunkRecorder
from yume_gym.events import validate_event_text
from yume_gym.options import option, parse_args

ROUTE: tuple[frozenset[str], ...] = tuple(
    frozenset(keys) for keys in (
        {"W"}, {"W"}, {"W", "LEFT"}, {"W", "LEFT"}, {"W"}, {"W", "RIGHT"},
        {"D"}, {"W"}, {"RIGHT"}, {"W", "UP"}, {"W", "DOWN"}, {"S"},
    )
)  # fmt: skip
DEFAULT_PROMPT = "a grassy meadow with red pillars and blue boxes under a clear sky"
DEFAULT_EVENT = "night falls"
MAX_SCALE = 16  # 64-pixel frames become 1024 pixels wide; larger only costs memory
MAX_STEPS = 10_000


@dataclass
class DemoArgs:
    out: str = option("demo.mp4", "output video (a JSON sidecar is written beside it)")
    checkpoint: str | None = option(None, "world model directory (default: the embedded model)")
    device: str = option("cpu", "torch device, e.g. cpu or cuda")
    prompt: str = option(DEFAULT_PROMPT, "text that starts the world")
    start: str = option("image", "image: also start from the procworld scene the prompt describes; "
                                 "text: the prompt alone", choices=("image", "text"))
    event: str = option(DEFAULT_EVENT, "event text triggered midway")
    event_step: int | None = option(None, "step at which the event starts (default: midway)")
    steps: int = option(len(ROUTE), "route steps to walk (the route repeats)")
    seed: int = option(0, "seed of the episode")
    scale: int = option(4, f"integer upscale of the frames in the video, 1..{MAX_SCALE}")

    def __post_init__(self) -> None:
        if not 1 <= self.steps <= MAX_STEPS or not 1 <= self.scale <= MAX_SCALE:
            raise ValueError(f"--steps must be in 1..{MAX_STEPS} and --scale in 1..{MAX_SCALE} "
                             f"(got --steps {self.steps}, --scale {self.scale})")
        if self.seed < 0:
            raise ValueError(f"--seed {self.seed} must be >= 0")
        out = Path(self.out)
        if out.suffix.lower() != ".mp4" or out.is_dir():
            raise ValueError(f"--out {self.out!r} must be a video file name ending in .mp4, e.g. {out / 'demo.mp4'}")
        if not out.resolve().parent.is_dir():
            raise ValueError(f"--out {self.out!r}: the folder {str(out.resolve().parent)!r} does not exist; create it")
        validate_event_text(self.event, "--event")
        if self.event_step is None:
            self.event_step = self.steps // 2
        if not 0 <= self.event_step <= self.steps:
            raise ValueError(f"--event-step must be in 0..{self.steps}")
        if self.start == "image":
            try:
                parse_caption(self.prompt)
            except ValueError as err:
                raise ValueError(f"--start image needs a procworld scene caption as --prompt ({err}); "
                                 "or use --start text") from None


def start_image(prompt: str, seed: int, size: tuple[int, int]) -> np.ndarray:
    """The first frame (H, W, 3) uint8 of the procworld scene that ``prompt`` describes."""
    world = ProcWorld(build_scene(parse_caption(prompt), seed), size)
    return world.advance([0])[0][0]


class UpscaleFrames(gym.Wrapper):
    """Enlarge ``info["frames"]`` by an integer factor (nearest pixel), for a watchable video.

    Presentation only: the observation is unchanged. The small model makes 64x64 frames, too
    small to show with the recorder's key and event overlay.
    """

    def __init__(self, env: gym.Env, scale: int) -> None:
        super().__init__(env)
        self.scale = scale

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return obs, self._scaled(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._scaled(info)

    def _scaled(self, info: dict) -> dict:
        frames = info["frames"].repeat(self.scale, axis=1).repeat(self.scale, axis=2)  # (T, sH, sW, 3)
        return {**info, "frames": frames}


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit status."""
    args = parse_args(DemoArgs, argv, "yume-gym demo", __doc__.splitlines()[0])
    base = gym.make(
        "yume_gym/YumeWorld-v0", checkpoint=args.checkpoint, device=args.device,
        events=[(args.event_step, args.event)], max_episode_steps=args.steps,
    )  # fmt: skip
    model = base.unwrapped.model
    print(model.describe())
    if not model.is_trained:
        print("note: the trained embedded weights are not installed; these frames come from random weights")
    out = Path(args.out)
    env = ChunkRecorder(UpscaleFrames(base, args.scale), out, overlay=True)
    options = {"prompt": args.prompt}
    if args.start == "image":
        options["image"] = start_image(args.prompt, args.seed, model.frame_size)
    generate_s, step_s = [], []
    try:  # closing publishes what was recorded and removes the segment folder, also on failure
        env.reset(seed=args.seed, options=options)
        for i in range(args.steps):
            t0 = time.perf_counter()
            *_, info = env.step(action_from_keys(ROUTE[i % len(ROUTE)]))
            step_s.append(time.perf_counter() - t0)
            generate_s.append(info["timings"].total_s)
    finally:
        env.close()
    per_chunk = float(np.mean(generate_s))
    summary = {
        "model": model.describe(), "is_trained": model.is_trained, "prompt": args.prompt, "start": args.start,
        "seed": args.seed,
        "event": args.event, "event_step": args.event_step, "chunks": args.steps,
        "frames_per_chunk": model.chunk_frames, "mean_generate_seconds_per_chunk": per_chunk,
        "mean_step_seconds_with_recording": float(np.mean(step_s)),
    }  # fmt: skip
    sidecar = out.with_suffix(".json")
    add_to_sidecar(sidecar, summary)
    frames = (args.steps + 1) * model.chunk_frames
    print(f"wrote {out} and {sidecar}: {args.steps} chunks + the opening one, {frames} frames "
          f"({model.chunk_frames} per chunk) at {model.fps} fps")
    print(f"time per chunk: {per_chunk * 1000:.1f} ms to generate ({model.chunk_frames / per_chunk:.1f} frames/s), "
          f"{np.mean(step_s) * 1000:.1f} ms with recording")
    print(f"event {args.event!r} from step {args.event_step}")
    return 0


def add_to_sidecar(path: Path, summary: dict) -> None:
    """Add the demo's ``summary`` under the key "demo" to the recorder's JSON sidecar, atomically."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["demo"] = summary
    write_text_atomic(path, json.dumps(data, indent=1, ensure_ascii=False))

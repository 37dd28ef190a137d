"""The world that ``yume-gym play`` and ``yume-gym serve`` open: shared options, env and controller.

Both commands take the same world options (``--prompt``, ``--image``, ``--checkpoint`` or
``--yume5b``, ``--device``, ``--seed``, ``--scale``, ``--save-dir``) and build the same stack:

    YumeWorldEnv -> UpscaleFrames (display size) -> ChunkRecorder (off until switched on)
        -> PlayController

Without ``--image``, a prompt that is a procworld scene caption (as the default one) starts from
that scene's first frame, as in ``yume-gym demo``: the embedded model was trained on procworld,
so its worlds start best from such an image. Any other prompt starts from text alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from procworld.captions import parse_caption

from yume_gym.commands.demo import DEFAULT_PROMPT, MAX_SCALE, UpscaleFrames, start_image
from yume_gym.env.single import YumeWorldEnv
from yume_gym.commands.play.controller import PlayController
from yume_gym.env.recorder import ChunkRecorder
from yume_gym.options import option
from yume_gym.world.bundle import WorldModel
from yume_gym.world.released import DEFAULT_RESOLUTION, RESOLUTIONS, load_yume5b

DISPLAY_SIDE = 512  # the automatic --scale makes the longer frame side at least this many pixels


@dataclass
class WorldArgs:
    """The world options shared by ``play`` and ``serve``."""

    prompt: str = option(DEFAULT_PROMPT, "text that starts the world")
    image: str | None = option(None, "start image (a file); without it a procworld scene caption starts from its scene")
    checkpoint: str | None = option(None, "world model bundle directory (default: the embedded model)")
    yume5b: str | None = option(None, "a released Yume-5B-720P directory instead", metavar="DIR")
    resolution: str = option(DEFAULT_RESOLUTION, "frame size of --yume5b", choices=sorted(RESOLUTIONS))
    device: str | None = option(None, "torch device (default: cpu for a bundle, cuda when available for --yume5b)")
    seed: int = option(0, "seed of the world (R restarts the same one)")
    scale: int | None = option(None, f"integer upscale of the frames (default: longer side >= {DISPLAY_SIDE} pixels)")
    save_dir: str = option("captures", "where recordings (V) and screenshots (F12) go")

    def __post_init__(self) -> None:
        """Option values that cannot work are usage errors."""
        if self.checkpoint is not None and self.yume5b is not None:
            raise ValueError("--checkpoint and --yume5b exclude each other; give one model")
        if self.scale is not None and not 1 <= self.scale <= MAX_SCALE:
            raise ValueError(f"--scale {self.scale} must be in 1..{MAX_SCALE}")
        if self.seed < 0:
            raise ValueError(f"--seed {self.seed} must be >= 0")
        if self.image is not None and not Path(self.image).is_file():
            raise ValueError(f"--image {self.image!r} is not a file; give the path of a start image")


def auto_scale(frame_size: tuple[int, int]) -> int:
    """The integer upscale that brings the longer side of ``frame_size`` to :data:`DISPLAY_SIDE`."""
    return max(1, DISPLAY_SIDE // max(frame_size))


def start_options(prompt: str, image: Any, seed: int, frame_size: tuple[int, int]) -> dict[str, Any]:
    """The reset options of a world: the prompt and the start image (see the module doc)."""
    if image is not None:
        return {"prompt": prompt, "image": image}
    try:
        parse_caption(prompt)
    except ValueError:
        return {"prompt": prompt}
    return {"prompt": prompt, "image": start_image(prompt, seed, frame_size)}


def load_model(args: WorldArgs) -> WorldModel | str | None:
    """The ``checkpoint`` argument of :class:`YumeWorldEnv` for the model options."""
    if args.yume5b is None:
        return args.checkpoint
    return load_yume5b(args.yume5b, resolution=args.resolution, device=args.device)


def open_controller(args: WorldArgs, checkpoint: WorldModel | str | None = None,
                    max_record_frames: int | None = None) -> PlayController:
    """The controller of the world that ``args`` describe (not started).

    ``checkpoint`` (a loaded model) replaces the model options; tests pass a small one.
    ``max_record_frames`` bounds what its recorder writes in all (None: no limit).
    """
    model = load_model(args) if checkpoint is None else checkpoint
    env = YumeWorldEnv(checkpoint=model, device=args.device or "cpu")
    frame_size = env.unwrapped.model.frame_size
    scale = args.scale or auto_scale(frame_size)
    shown = UpscaleFrames(env, scale) if scale > 1 else env
    recorder = ChunkRecorder(shown, Path(args.save_dir) / "recordings", overlay=True, max_frames=max_record_frames)
    recorder.set_recording(False)
    options = start_options(args.prompt, args.image, args.seed, frame_size)
    return PlayController(recorder, seed=args.seed, options=options, recorder=recorder)

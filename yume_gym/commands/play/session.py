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

import argparse
from pathlib import Path
from typing import Any

from procworld.captions import parse_caption

from yume_gym.commands.demo import DEFAULT_PROMPT, MAX_SCALE, UpscaleFrames, start_image
from yume_gym.env.single import YumeWorldEnv
from yume_gym.commands.play.controller import PlayController
from yume_gym.env.recorder import ChunkRecorder
from yume_gym.options import torch_device
from yume_gym.world.bundle import WorldModel
from yume_gym.world.released import DEFAULT_RESOLUTION, RESOLUTIONS, load_yume5b

DISPLAY_SIDE = 512  # the automatic --scale makes the longer frame side at least this many pixels


def add_world_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the world options shared by ``play`` and ``serve`` to ``parser``."""
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="text that starts the world")
    parser.add_argument("--image", default=None,
                        help="start image (a file); without it a procworld scene caption starts from its scene")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--checkpoint", default=None,
                       help="world model bundle directory (default: the embedded model)")
    model.add_argument("--yume5b", default=None, metavar="DIR", help="a released Yume-5B-720P directory instead")
    parser.add_argument("--resolution", default=DEFAULT_RESOLUTION, choices=sorted(RESOLUTIONS),
                        help="frame size of --yume5b")
    parser.add_argument("--device", default=None, type=torch_device,
                        help="torch device (default: cpu for a bundle, cuda when available for --yume5b)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world (R restarts the same one)")
    parser.add_argument("--scale", type=int, default=None,
                        help=f"integer upscale of the frames (default: longer side >= {DISPLAY_SIDE} pixels)")
    parser.add_argument("--save-dir", default="captures", help="where recordings (V) and screenshots (F12) go")


def check_world_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit through ``parser.error`` for option values that cannot work."""
    if args.scale is not None and not 1 <= args.scale <= MAX_SCALE:
        parser.error(f"--scale {args.scale} must be in 1..{MAX_SCALE}")
    if args.seed < 0:
        parser.error(f"--seed {args.seed} must be >= 0")
    if args.image is not None and not Path(args.image).is_file():
        parser.error(f"--image {args.image!r} is not a file; give the path of a start image")


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


def load_model(args: argparse.Namespace) -> WorldModel | str | None:
    """The ``checkpoint`` argument of :class:`YumeWorldEnv` for the model options."""
    if args.yume5b is None:
        return args.checkpoint
    return load_yume5b(args.yume5b, resolution=args.resolution, device=args.device)


def open_controller(args: argparse.Namespace, checkpoint: WorldModel | str | None = None,
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

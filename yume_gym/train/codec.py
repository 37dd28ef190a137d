"""``yume-gym train codec``: fit the small video codec to procworld frames.

The codec (:mod:`yume_gym.model.codec`) is trained as an image autoencoder on random frames of
the dataset's training clips (:func:`procworld.clips.split_held_out`), then its per-channel
latent normalisation is fitted. ``yume-gym eval codec`` measures it on the held-out clips.
Output in ``--out``: ``codec.safetensors``, ``log.csv`` and the resumable checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from yume_gym.model.codec import (
    CodecConfig,
    build_codec,
    frames_to_video,
    reconstruction_loss,
    save_codec,
)
from yume_gym.options import require_inputs, option, parse_args
from yume_gym.train.checkpoint import load_checkpoint, restore
from procworld.clips import MAKE_DATASET, load_clips, split_held_out
from yume_gym.train.loop import CHECKPOINT_FILE, LoopSettings, cosine_lr, run_loop, set_lr

CODEC_FILE = "codec.safetensors"


@dataclass
class CodecArgs:
    data: str = option("data/procworld", "procworld dataset directory")
    out: str = option("runs/codec", "run directory (re-running resumes from its checkpoint)")
    steps: int = option(3000, "training steps")
    minutes: float | None = option(None, "stop after this many minutes (a later run resumes)")
    batch: int = option(32, "frames per step")
    lr: float = option(1e-3, "peak learning rate")
    max_clips: int = option(1000, "clips loaded from the dataset (the last 5% are held out)")
    latent_channels: int = option(16, "latent channels")
    spatial_stride: int = option(8, "spatial downsampling (power of two)")
    base_channels: int = option(16, "channels of the first encoder stage")
    max_channels: int = option(64, "channel cap of the deeper stages")
    edge_weight: float = option(0.0, "weight of the squared error of horizontal and vertical pixel differences")
    seed: int = option(0, "random seed")
    threads: int = option(2, "CPU threads")
    device: str = option("cpu", "torch device")
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1 or self.max_clips < 2:
            raise ValueError(f"steps={self.steps}, batch={self.batch} and max_clips={self.max_clips} "
                             "must be >= 1, >= 1 and >= 2")
        if self.edge_weight < 0:
            raise ValueError(f"edge_weight {self.edge_weight!r} must be >= 0")


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym train codec``; returns the exit status."""
    args = parse_args(CodecArgs, argv, "yume-gym train codec", __doc__.splitlines()[0])
    require_inputs([(args.data, "procworld dataset (--data)", MAKE_DATASET)])
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device, out = torch.device(args.device), Path(args.out)
    clips = load_clips(args.data, args.max_clips)
    train_frames = split_held_out(clips)[0]
    config = CodecConfig(image_size=train_frames.shape[1], latent_channels=args.latent_channels,
                         spatial_stride=args.spatial_stride, base_channels=args.base_channels,
                         max_channels=args.max_channels)
    codec = build_codec(config, device=device)
    optimizer = torch.optim.AdamW(codec.parameters(), lr=args.lr, weight_decay=0.0)
    start = restore(load_checkpoint(out / CHECKPOINT_FILE), codec=codec, optimizer=optimizer)
    rng = np.random.default_rng([args.seed, start])

    def train_step(step: int) -> dict[str, float]:
        set_lr(optimizer, cosine_lr(step, args.steps, args.lr, warmup=100))
        pick = rng.integers(len(train_frames), size=args.batch)
        loss = reconstruction_loss(codec, frames_to_video(train_frames[pick], device), args.edge_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"mse": loss.item(), "psnr": 10 * math.log10(4.0 / max(loss.item(), 1e-10))}

    def state() -> dict:
        return {"codec": codec.state_dict(), "optimizer": optimizer.state_dict(), "args": asdict(args)}

    settings = LoopSettings(out, args.steps, args.minutes, progress=args.progress)
    step = run_loop("codec", settings, start, train_step, state, ["mse", "psnr"])
    codec.eval()
    fit = train_frames[np.random.default_rng(args.seed).integers(len(train_frames), size=512)]
    codec.fit_normalisation(frames_to_video(fit, device))
    save_codec(codec, out / CODEC_FILE)
    print(f"codec at step {step} -> {out / CODEC_FILE}; measure it on the held-out clips with "
          f"`yume-gym eval codec --codec {out / CODEC_FILE} --data {args.data}`")
    return 0

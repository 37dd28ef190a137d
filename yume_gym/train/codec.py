"""``yume-gym train codec``: fit the small video codec to procworld frames.

The codec (:mod:`yume_gym.model.codec`) is trained as an image autoencoder on random frames of
the dataset with a mean squared error on pixels and (``--edge-weight``) on their differences;
at the end its per-channel latent normalisation is fitted on training frames and it is measured
on the dataset's last clips, which training never sees: reconstruction PSNR, and for each object
hue of the tasks (:data:`yume_gym.rewards.HUES`) the share of that hue's pixels that still have
it after the round trip (thin objects are what a codec loses first). Output in ``--out``:
``codec.safetensors``, ``codec_eval.json``, ``log.csv`` and the resumable ``checkpoint.pt``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from yume_gym.atomic_file import write_text_atomic
from yume_gym.evaluation.metrics import psnr
from yume_gym.model.codec import (
    CodecConfig,
    LatentCodec,
    build_codec,
    reconstruction_loss,
    save_codec,
)
from yume_gym.rewards import HUES, HueInView
from yume_gym.train.args import option, parse_args
from yume_gym.train.checkpoint import load_checkpoint, restore
from yume_gym.train.clips import ClipSet, load_clips
from yume_gym.train.loop import CHECKPOINT_FILE, LoopSettings, cosine_lr, run_loop, set_lr

CODEC_FILE = "codec.safetensors"
EVAL_FILE = "codec_eval.json"


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


def to_video(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (1, 3, N, H, W) float in [-1, 1] (frames as one clip of N)."""
    video = torch.from_numpy(frames).to(device).permute(3, 0, 1, 2)[None]  # (1, 3, N, H, W)
    return video.float() / 127.5 - 1.0


@torch.no_grad()
def round_trip(codec: LatentCodec, frames: np.ndarray, device: torch.device, batch: int = 64) -> np.ndarray:
    """``frames`` (N, H, W, 3) uint8 through encode and decode, as (N, H, W, 3) uint8."""
    out = []
    for i in range(0, len(frames), batch):
        recon = codec.decode(codec.encode(to_video(frames[i : i + batch], device)))  # (1, 3, n, H, W)
        pixels = ((recon[0].permute(1, 2, 3, 0) + 1.0) * 127.5).round().clamp(0, 255)  # (n, H, W, 3)
        out.append(pixels.to(torch.uint8).cpu().numpy())
    return np.concatenate(out)


def hue_kept(original: np.ndarray, recon: np.ndarray) -> dict[str, float | None]:
    """Per object hue: the share of its pixels in ``original`` that keep it in ``recon``.

    None for a hue that no frame shows.
    """
    kept: dict[str, float | None] = {}
    for name in HUES:
        test = HueInView(name, region="full")
        before = np.stack([test.mask(frame) for frame in original])  # (N, H, W)
        after = np.stack([test.mask(frame) for frame in recon])
        kept[name] = float((before & after).sum() / before.sum()) if before.any() else None
    return kept


def evaluate(codec: LatentCodec, frames: np.ndarray, device: torch.device) -> dict:
    """Held-out measures of the codec on ``frames`` (N, H, W, 3) uint8 (see the module doc)."""
    recon = round_trip(codec, frames, device)
    return {"held_out_frames": len(frames), "psnr_db": float(psnr(frames, recon).mean()),
            "hue_kept": hue_kept(frames, recon)}


def split(clips: ClipSet) -> tuple[np.ndarray, np.ndarray]:
    """(training frames, held-out frames) as (N, H, W, 3): the last 5% of clips are held out."""
    held = max(1, len(clips) // 20)
    frames = clips.frames
    return frames[:-held].reshape(-1, *frames.shape[2:]), frames[-held:].reshape(-1, *frames.shape[2:])


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym train codec``; returns the exit status."""
    args = parse_args(CodecArgs, argv, "yume-gym train codec", __doc__.splitlines()[0])
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device, out = torch.device(args.device), Path(args.out)
    clips = load_clips(args.data, args.max_clips)
    train_frames, held_frames = split(clips)
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
        loss = reconstruction_loss(codec, to_video(train_frames[pick], device), args.edge_weight)
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
    codec.fit_normalisation(to_video(fit, device))
    save_codec(codec, out / CODEC_FILE)
    report = {"step": step, **evaluate(codec, held_frames, device)}
    write_text_atomic(out / EVAL_FILE, json.dumps(report, indent=2))
    kept = ", ".join(f"{name} {share:.2f}" for name, share in report["hue_kept"].items() if share is not None)
    print(f"codec at step {step}: held-out PSNR {report['psnr_db']:.2f} dB, hue kept: {kept} -> {out / CODEC_FILE}")
    return 0

"""``yume-gym eval codec``: how much a trained codec keeps of the frames it never saw.

Runs the dataset's held-out clips (:func:`procworld.clips.split_held_out`) through encode and
decode and reports the reconstruction PSNR and, for each object hue of the tasks, the share of
that hue's pixels that keep it (thin objects are what a codec loses first). Writes
``codec_eval.json`` beside the codec unless ``--out`` names another file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from procworld.clips import MAKE_DATASET, load_clips, split_held_out

from yume_gym.atomic_file import write_text_atomic
from yume_gym.env.rewards import HUES, HueInView
from yume_gym.evaluation.metrics import psnr
from yume_gym.model.codec import MAKE_CODEC, LatentCodec, load_codec, round_trip
from yume_gym.options import require_inputs, option, parse_args

EVAL_FILE = "codec_eval.json"


@dataclass
class CodecEvalArgs:
    codec: str = option("runs/codec/codec.safetensors", "the trained codec to measure")
    data: str = option("data/procworld", "the procworld dataset it was trained on")
    max_clips: int = option(1000, "clips loaded from the dataset, as in training (the last 5% are held out)")
    out: str | None = option(None, "where to write the JSON report (default: codec_eval.json beside the codec)")
    threads: int = option(2, "CPU threads")
    device: str = option("cpu", "torch device")


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



def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym eval codec``; returns the exit status."""
    args = parse_args(CodecEvalArgs, argv, "yume-gym eval codec", __doc__.splitlines()[0])
    require_inputs([(args.codec, "trained codec (--codec)", MAKE_CODEC), (args.data, "procworld dataset (--data)", MAKE_DATASET)])
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    codec = load_codec(args.codec, device=device).eval()
    held_frames = split_held_out(load_clips(args.data, args.max_clips))[1]
    report = evaluate(codec, held_frames, device)
    out = Path(args.out) if args.out else Path(args.codec).parent / EVAL_FILE
    write_text_atomic(out, json.dumps(report, indent=2))
    kept = ", ".join(f"{name} {share:.2f}" for name, share in report["hue_kept"].items() if share is not None)
    print(f"codec {args.codec}: held-out PSNR {report['psnr_db']:.2f} dB, hue kept: {kept} -> {out}")
    return 0

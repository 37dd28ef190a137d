"""``yume-gym train idm``: fit the inverse-dynamics classifier to ground-truth procworld chunks.

Reads clips of a dataset written with ``--align F`` (actions held over whole chunks), holds
out the last 5% of clips, and writes ``idm.safetensors`` and ``idm_eval.json`` (held-out
accuracy of the movement, the rotation and the whole action, and the movement confusion
matrix) to ``--out``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from yume_gym.actions import MOVEMENTS, NUM_MOVEMENTS, NUM_ROTATIONS
from yume_gym.atomic_file import write_text_atomic
from yume_gym.model.inverse_dynamics import (
    InverseDynamics,
    InverseDynamicsConfig,
    chunk_windows,
    idm_loss,
    save_inverse_dynamics,
)
from yume_gym.options import require_inputs, option, parse_args
from yume_gym.train.checkpoint import load_checkpoint, restore
from procworld.clips import MAKE_DATASET, load_clips
from yume_gym.train.loop import CHECKPOINT_FILE, LoopSettings, cosine_lr, run_loop, set_lr

IDM_FILE = "idm.safetensors"


@dataclass
class IdmArgs:
    data: str = option("data/procworld", "procworld dataset directory (written with --align)")
    out: str = option("runs/idm", "run directory (re-running resumes)")
    steps: int = option(2000, "training steps")
    minutes: float | None = option(None, "stop after this many minutes")
    batch: int = option(64, "windows per step")
    lr: float = option(1e-3, "peak learning rate")
    max_clips: int = option(1500, "clips loaded (the last 5% are held out)")
    chunk_frames: int = option(4, "frames per chunk (the dataset's --align)")
    width: int = option(32, "channels of the first conv stage")
    motion: bool = option(True, "add consecutive-frame differences as input channels")
    norm: bool = option(True, "GroupNorm after every convolution")
    seed: int = option(0, "random seed")
    threads: int = option(2, "CPU threads")
    progress: bool = option(True, "show a progress bar")


def accuracy(model: InverseDynamics, windows: np.ndarray, labels: np.ndarray) -> dict:
    """Held-out accuracy of the movement, the rotation and the whole action, and the movement
    confusion matrix (rows: true movement, columns: predicted, in the public index order)."""
    model.eval()
    predicted = model.predict(windows)
    confusion = np.zeros((NUM_MOVEMENTS, NUM_MOVEMENTS), dtype=np.int64)
    np.add.at(confusion, (labels // NUM_ROTATIONS, predicted // NUM_ROTATIONS), 1)
    return {
        "movement": float(np.mean(predicted // NUM_ROTATIONS == labels // NUM_ROTATIONS)),
        "rotation": float(np.mean(predicted % NUM_ROTATIONS == labels % NUM_ROTATIONS)),
        "action": float(np.mean(predicted == labels)),
        "movement_confusion": confusion.tolist(),
    }


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym train idm``; returns the exit status."""
    args = parse_args(IdmArgs, argv, "yume-gym train idm", __doc__.splitlines()[0])
    require_inputs([(args.data, "procworld dataset (--data)", MAKE_DATASET)])
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    clips = load_clips(args.data, args.max_clips)
    held = max(1, len(clips) // 20)
    train_x, train_y = chunk_windows(clips.frames[:-held], clips.actions[:-held], args.chunk_frames)
    test_x, test_y = chunk_windows(clips.frames[-held:], clips.actions[-held:], args.chunk_frames)
    config = InverseDynamicsConfig(args.chunk_frames, clips.frames.shape[2], args.width,
                                   args.motion, args.norm)
    model = InverseDynamics(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    start = restore(load_checkpoint(out / CHECKPOINT_FILE), model=model, optimizer=optimizer)
    rng = np.random.default_rng([args.seed, start])

    def train_step(step: int) -> dict[str, float]:
        model.train()
        set_lr(optimizer, cosine_lr(step, args.steps, args.lr, warmup=100))
        pick = rng.integers(len(train_x), size=args.batch)
        loss = idm_loss(model, torch.from_numpy(train_x[pick]), torch.from_numpy(train_y[pick]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item()}

    def state() -> dict:
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "args": asdict(args)}

    step = run_loop("idm", LoopSettings(out, args.steps, args.minutes, progress=args.progress), start,
                    train_step, state, ["loss"])
    save_inverse_dynamics(model, out / IDM_FILE)
    report = {"step": step, "held_out_windows": len(test_x), **accuracy(model, test_x, test_y)}
    write_text_atomic(out / "idm_eval.json", json.dumps(report, indent=2))
    accuracies = {k: round(v, 3) for k, v in report.items() if isinstance(v, float)}
    print(f"inverse dynamics at step {step}: held-out accuracy {accuracies}")
    print("held-out movement confusion (rows true, columns predicted: "
          + ", ".join(m.keys for m in MOVEMENTS) + "):")
    print("\n".join(" ".join(f"{n:5d}" for n in row) for row in report["movement_confusion"]))
    return 0

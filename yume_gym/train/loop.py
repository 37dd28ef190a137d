"""The shared training loop: steps under a time budget, periodic checkpoints, CSV log, progress bar.

SIGINT (Ctrl-C) or SIGTERM ends the step under way, writes the checkpoint and then stops the run
with KeyboardInterrupt; re-running the same command resumes from that checkpoint.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Iterator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from yume_gym.train.checkpoint import random_states, save_checkpoint
from yume_gym.train.run_log import CsvLog

CHECKPOINT_FILE = "checkpoint.safetensors"
LOG_FILE = "log.csv"


@dataclass
class LoopSettings:
    """Stop after ``steps`` steps or ``minutes`` of wall time (None: no time limit), whichever is
    first; checkpoint every ``checkpoint_minutes`` and at the end; log every ``log_every`` steps."""

    out: Path
    steps: int
    minutes: float | None = None
    checkpoint_minutes: float = 5.0
    log_every: int = 10
    progress: bool = True


def cosine_lr(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to ``peak`` over ``warmup`` steps, then a cosine decay to 10% of it."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.45 * (1.0 + math.cos(math.pi * progress)))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


@contextlib.contextmanager
def stop_requests() -> Iterator[list[str]]:
    """While open, SIGINT and SIGTERM append their name to the yielded list instead of stopping
    the process; a second signal stops it at once. Nothing is caught outside the main thread."""
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    watched = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.getsignal(sig) for sig in watched}

    def note(signum: int, frame: Any) -> None:
        received.append(signal.Signals(signum).name)
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    for sig in watched:
        signal.signal(sig, note)
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_loop(
    name: str,
    settings: LoopSettings,
    start_step: int,
    train_step: Callable[[int], dict[str, float]],
    state: Callable[[], dict[str, Any]],
    fields: list[str],
) -> int:
    """Run ``train_step(step) -> metrics`` from ``start_step``; returns the last step done.

    ``state()`` gives what the checkpoint stores besides the step and random states.
    """
    log = CsvLog(settings.out / LOG_FILE, ["step", *fields, "seconds"], resume_step=start_step)
    path = settings.out / CHECKPOINT_FILE
    t_start = last_save = time.monotonic()
    step = start_step
    bar = tqdm(total=settings.steps, initial=step, desc=name, unit="step", disable=not settings.progress)

    def checkpoint() -> None:
        save_checkpoint(path, {"step": step, "random": random_states(), **state()})

    with bar, stop_requests() as stop:
        while step < settings.steps and not stop:
            if settings.minutes is not None and time.monotonic() - t_start > settings.minutes * 60:
                break
            metrics = train_step(step)
            step += 1
            bar.update(1)
            if step % settings.log_every == 0 or step == settings.steps:
                log.write({"step": step, **metrics, "seconds": time.monotonic() - t_start})
                bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items()})
            if time.monotonic() - last_save > settings.checkpoint_minutes * 60:
                checkpoint()
                last_save = time.monotonic()
    checkpoint()
    if stop:
        raise KeyboardInterrupt(f"{name} stopped by {stop[0]} at step {step}; its checkpoint is in {path}, "
                                "re-run the same command to resume")
    return step

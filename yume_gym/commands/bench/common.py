"""What the env benchmarks share: the prompt they start from, device timing and their output."""

from __future__ import annotations

import os
import platform

import torch

from yume_gym.atomic_file import write_text_atomic

PROMPT = "a quiet village street"


def sync(device: str) -> None:
    """Wait for queued GPU work, so wall-clock times measure it; nothing on a CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def machine(device: str) -> str:
    """The GPU's name, or the CPU and its core count."""
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name()
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def publish(text: str, out: str) -> None:
    """Print a benchmark's table and write it to ``out`` atomically ('' to skip the file)."""
    print(text)
    if out:
        write_text_atomic(out, text)
        print(f"wrote {out}")

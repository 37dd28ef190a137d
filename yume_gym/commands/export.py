"""``yume-gym export``: re-save a world-model bundle for shipping, its weights in a smaller dtype.

A training run exports float32 bundles. Stored as float16 a bundle takes half the disk (the
embedded model must fit the package's 25 MB), and it still loads as float32 by default: only
the stored precision changes. Generation settings can be fixed at the same time (for example
the guidance scale a model ships with, or its default prompt), and the note says where the
weights came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from yume_gym.options import require_inputs, option, parse_args
from yume_gym.world.bundle import (
    MANIFEST,
    read_world_model,
    resolve_dtype,
    save_world_model,
    with_generation,
)

STORAGE_DTYPES = ("float32", "float16", "bfloat16")


@dataclass
class ExportArgs:
    model: str = option("runs/foundation/bundle", "world-model bundle to export")
    out: str = option("exported", "directory to write (created; must not be --model)")
    dtype: str = option("float16", f"stored dtype of the weights, one of {STORAGE_DTYPES}")
    guidance: float | None = option(None, "classifier-free guidance scale to ship (default: the bundle's)")
    movement_guidance: float | None = option(None, "guidance toward the movement keys to ship (default: the bundle's)")
    rotation_guidance: float | None = option(None, "guidance toward the camera turn to ship (default: the bundle's)")
    event_guidance: float | None = option(None, "guidance toward the active event to ship (default: the bundle's)")
    default_prompt: str | None = option(None, "the prompt of a world started with neither image nor prompt "
                                              "(default: the bundle's)")
    note: str | None = option(None, "the manifest's note (default: the bundle's)")

    def __post_init__(self) -> None:
        if self.dtype not in STORAGE_DTYPES:
            raise ValueError(f"--dtype {self.dtype!r} is not one of {STORAGE_DTYPES}")
        if Path(self.out).resolve() == Path(self.model).resolve():
            raise ValueError(f"--out {self.out!r} is the bundle itself; write the export to another directory")


def bundle_bytes(directory: Path) -> int:
    """Total size of the files in ``directory``."""
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym export``; returns the exit status."""
    args = parse_args(ExportArgs, argv, "yume-gym export", __doc__.splitlines()[0])
    require_inputs([(args.model, "world-model bundle (--model)",
                        "train one (README, 'Train the embedded model') or pass --model DIR")])  # fmt: skip
    model = read_world_model(args.model)
    changes = {"guidance": args.guidance, "movement_guidance": args.movement_guidance,
               "rotation_guidance": args.rotation_guidance, "event_guidance": args.event_guidance,
               "default_prompt": args.default_prompt}
    model = with_generation(model, **{name: value for name, value in changes.items() if value is not None})
    note = read_note(Path(args.model)) if args.note is None else args.note
    out = save_world_model(model.to(dtype=resolve_dtype(args.dtype)), args.out, note=note)
    print(f"{args.model} ({bundle_bytes(Path(args.model)) / 1e6:.1f} MB) -> {out} "
          f"({bundle_bytes(out) / 1e6:.1f} MB, {args.dtype})")
    return 0


def read_note(directory: Path) -> str:
    """The note of a bundle's manifest ("" when it has none)."""
    return str(json.loads((directory / MANIFEST).read_text()).get("note", ""))

"""``yume-gym export minari``: recorded episodes (MP4 + JSON sidecar) as a Minari dataset.

The recordings are :class:`~yume_gym.env.recorder.ChunkRecorder`'s files, e.g. those that
``yume-gym play`` saves with V; :func:`yume_gym.env.minari_export.export_minari` has the format.
Minari writes under ``MINARI_DATASETS_PATH`` (default ``~/.minari/datasets``).
"""

from __future__ import annotations

from dataclasses import dataclass

from yume_gym.env.minari_export import export_minari
from yume_gym.options import require_inputs, option, parse_args


@dataclass
class MinariExportArgs:
    recordings: str = option("captures/recordings", "folder of recorded episodes (or one .mp4)")
    dataset_id: str = option("yume_gym/recordings-v0", "Minari dataset id: namespace/name-vN")
    description: str | None = option(None, "the dataset's description")
    author: str | None = option(None, "the dataset's author")


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym export minari``; returns the exit status."""
    args = parse_args(MinariExportArgs, argv, "yume-gym export minari", __doc__.splitlines()[0])
    require_inputs([(args.recordings, "recorded episodes (--recordings)",
                        "record some with `yume-gym play` (V) or ChunkRecorder, or pass --recordings DIR")])  # fmt: skip
    metadata = {key: value for key, value in (("description", args.description), ("author", args.author)) if value}
    dataset = export_minari(args.recordings, args.dataset_id, **metadata)
    print(f"wrote {dataset.total_episodes} episodes, {dataset.total_steps} steps as Minari dataset "
          f"{args.dataset_id!r} ({dataset.spec.data_path}); load it with minari.load_dataset({args.dataset_id!r})")
    return 0

"""A CSV log of training metrics that survives restarts: rows are appended, the header kept."""

from __future__ import annotations

import csv
import os
from pathlib import Path


class CsvLog:
    """Append-only CSV of metric rows; a resumed run keeps the earlier rows up to its step.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
    >>> log = CsvLog(path, ["step", "loss"])
    >>> log.write({"step": 1, "loss": 0.5})
    >>> path.read_text().splitlines()
    ['step,loss', '1,0.5']
    """

    def __init__(self, path: str | os.PathLike, fields: list[str], resume_step: int = 0) -> None:
        self.path, self.fields = Path(path), list(fields)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rows = self._rows_before(resume_step) if self.path.is_file() else []
        with self.path.open("w", newline="") as f:  # rewrite: drop rows past the checkpoint
            writer = csv.DictWriter(f, self.fields)
            writer.writeheader()
            writer.writerows(rows)

    def _rows_before(self, step: int) -> list[dict[str, str]]:
        with self.path.open(newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames != self.fields:
                return []
            return [row for row in reader if int(row["step"]) <= step]

    def write(self, row: dict[str, float | int]) -> None:
        """Append one row (keys are the fields; floats written with 6 significant digits)."""
        values = {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, self.fields).writerow(values)

"""Means with bootstrap confidence intervals, and the evaluation table built from episode rows.

An agent is evaluated as one or more *units* (independently trained policies, or seeds of a
random agent), each on the same held-out episodes. With two or more units the interval is over
units: each unit's mean is one sample, so it says how much the result depends on the training
seed. With one unit it is over that unit's episodes. Intervals are SciPy's percentile bootstrap
(``scipy.stats.bootstrap``), seeded so that a table is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

METRICS = (("success", "success rate"), ("return", "return"), ("length", "episode length"))


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95, resamples: int = 10_000,
                 seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the mean of ``values`` and its percentile-bootstrap interval.

    Resampling uses a generator seeded with ``seed``, so a table is reproducible. One value gives
    a zero-width interval; no values give NaNs.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    if x.size == 1 or np.all(x == x[0]):  # nothing to resample
        return float(x[0]), float(x[0]), float(x[0])
    try:
        from scipy.stats import bootstrap
    except ImportError as err:
        raise ImportError('the agents\' statistics need scipy: pip install "yume-gym[agents]"') from err
    interval = bootstrap((x,), np.mean, confidence_level=confidence, n_resamples=resamples, method="percentile",
                         rng=np.random.default_rng(seed)).confidence_interval  # fmt: skip
    return float(x.mean()), float(interval.low), float(interval.high)


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary per (agent, world): unit and episode counts, and each metric's mean and interval.

    ``rows`` are episode rows with ``agent``, ``world``, ``unit``, ``return``, ``length`` and
    ``success`` (None where the world cannot judge it). Groups keep the order they first appear in.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["agent"], row["world"]), []).append(row)
    summaries = []
    for (agent, world), members in groups.items():
        units = list(dict.fromkeys(r["unit"] for r in members))
        summary = {"agent": agent, "world": world, "units": len(units), "episodes": len(members),
                   "interval_over": "seeds" if len(units) > 1 else "episodes"}  # fmt: skip
        for key, _ in METRICS:
            judged = [r for r in members if r[key] is not None]
            if len(units) > 1:
                samples = [np.mean([float(r[key]) for r in judged if r["unit"] == u]) for u in units
                           if any(r["unit"] == u for r in judged)]  # fmt: skip
            else:
                samples = [float(r[key]) for r in judged]
            summary[key] = bootstrap_ci(samples)
        summaries.append(summary)
    return summaries


def markdown_table(summaries: Sequence[dict[str, Any]]) -> str:
    """The summaries as a Markdown table: mean [95% interval] per metric."""
    header = ["agent", "world", "runs x episodes"] + [name for _, name in METRICS] + ["interval over"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for s in summaries:
        cells = [s["agent"], s["world"], f"{s['units']} x {s['episodes'] // max(s['units'], 1)}"]
        for key, _ in METRICS:
            mean, low, high = s[key]
            digits = 2 if key == "success" else 1
            cells.append("–" if math.isnan(mean) else f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]")
        cells.append(s["interval_over"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

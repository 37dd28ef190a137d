"""stable-baselines3 callbacks of a training run: episode log, progress bar, periodic checkpoints."""

from __future__ import annotations

import csv
import re
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from yume_gym.atomic_file import atomic_path

_STEP = re.compile(r"step-(\d+)\.zip")
EPISODE_LOG_FIELDS = ("env_steps", "wall_s", "return", "length", "ended_by_task", "success", "score")


def save_agent(agent: BaseAlgorithm, path: str | Path) -> Path:
    """Save ``agent`` to ``path`` (a .zip) atomically: a run cut off while saving keeps the last file."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        agent.save(f)
    return path


class EpisodeLog(BaseCallback):
    """Append one CSV row per finished episode (``EPISODE_LOG_FIELDS``) and keep recent ones for display.

    ``success`` and ``score`` are the true verdict that ProcWorld envs report (blank elsewhere).
    With ``resume_at`` (env steps of the checkpoint a run resumes from) the existing log keeps
    its rows up to that step and goes on from there, ``wall_s`` counting on from its last row.
    """

    def __init__(self, path: str | Path, recent: int = 50, resume_at: int | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.recent: deque[dict[str, Any]] = deque(maxlen=recent)
        self.resume_at = resume_at
        self.start = time.monotonic()

    def _on_training_start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept: list[dict[str, str]] = []
        if self.resume_at is not None and self.path.is_file():
            with open(self.path, newline="") as f:
                kept = [row for row in csv.DictReader(f) if int(row["env_steps"]) <= self.resume_at]
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=EPISODE_LOG_FIELDS)
            writer.writeheader()
            writer.writerows(kept)
        self.start = time.monotonic() - (float(kept[-1]["wall_s"]) if kept else 0.0)

    def _on_step(self) -> bool:
        rows = []
        for info in self.locals["infos"]:
            episode = info.get("episode")
            if episode is not None:
                rows.append({
                    "env_steps": self.num_timesteps, "wall_s": round(time.monotonic() - self.start, 3),
                    "return": float(episode["r"]), "length": int(episode["l"]),
                    "ended_by_task": not info.get("TimeLimit.truncated", False),
                    "success": episode.get("task_success", ""), "score": episode.get("task_score", ""),
                })  # fmt: skip
        if rows:
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=EPISODE_LOG_FIELDS).writerows(rows)
            self.recent.extend(rows)
        return True

    def summary(self) -> dict[str, float]:
        """Mean return, length and (where known) success of the recent episodes."""
        if not self.recent:
            return {}
        out = {"return": float(np.mean([r["return"] for r in self.recent])),
               "length": float(np.mean([r["length"] for r in self.recent]))}  # fmt: skip
        judged = [r["success"] for r in self.recent if r["success"] != ""]
        if judged:
            out["success"] = float(np.mean(judged))
        return out


class ProgressBar(BaseCallback):
    """A tqdm bar of env steps with the recent episodes' means from ``log``."""

    def __init__(self, total: int, log: EpisodeLog, enabled: bool = True) -> None:
        super().__init__()
        self.total, self.log, self.enabled = total, log, enabled

    def _on_training_start(self) -> None:
        self.bar = tqdm(total=self.total, initial=self.num_timesteps, unit="step", disable=not self.enabled)

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        if self.n_calls % 20 == 0:
            self.bar.set_postfix({k: f"{v:.2f}" for k, v in self.log.summary().items()}, refresh=False)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


class PeriodicCheckpoint(BaseCallback):
    """Save the agent to ``directory/step-<env steps>.zip`` every ``every`` env steps (the first
    one past ``after``, the step a resumed run starts from)."""

    def __init__(self, directory: str | Path, every: int, after: int = 0) -> None:
        super().__init__()
        self.directory, self.every = Path(directory), int(every)
        self.next_at = (after // self.every + 1) * self.every if self.every > 0 else 0
        self.saved: list[Path] = []

    def _on_step(self) -> bool:
        if self.every > 0 and self.num_timesteps >= self.next_at:
            self.saved.append(save_agent(self.model, self.directory / f"step-{self.num_timesteps:09d}.zip"))
            self.next_at += self.every
        return True


def saved_checkpoints(directory: str | Path) -> list[tuple[int, Path]]:
    """(env steps, path) of every ``step-<env steps>.zip`` in ``directory``, in order of env steps."""
    found = [(int(m.group(1)), p) for p in Path(directory).glob("step-*.zip") if (m := _STEP.fullmatch(p.name))]
    return sorted(found)


def latest_checkpoint(directory: str | Path) -> tuple[int, Path] | None:
    """(env steps, path) of the newest checkpoint in ``directory``, or None."""
    found = saved_checkpoints(directory)
    return found[-1] if found else None

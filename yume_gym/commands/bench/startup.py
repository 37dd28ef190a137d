"""``yume-gym bench startup``: wall time of ``import yume_gym`` and of the command's help screens.

Each command runs ``--repeats`` times in a fresh interpreter with the source tree first on
``PYTHONPATH``; the table gives the median and the fastest run. ``--before DIR`` times another
checkout too (e.g. an older commit in a ``git worktree``), for a before/after comparison.
Prints the table and writes it to ``--out`` (default ``runs/bench/startup.md``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from yume_gym.commands.bench.common import machine, publish
from yume_gym.options import option, parse_args

SOURCE = Path(__file__).resolve().parents[3]
COMMANDS = {  # label -> the arguments of ``yume-gym`` (None: a bare ``import yume_gym``)
    "import yume_gym": None,
    "yume-gym --help": ["--help"],
    "yume-gym demo --help": ["demo", "--help"],
}


@dataclass
class StartupArgs:
    repeats: int = option(7, "runs of each command")
    before: Path | None = option(None, "another source tree to time as well")
    out: str = option("runs/bench/startup.md", "markdown table to write ('' to skip)")

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ValueError(f"--repeats {self.repeats} must be >= 1")
        if self.before is not None and not (self.before / "yume_gym" / "__init__.py").is_file():
            raise ValueError(f"--before {str(self.before)!r} is not a yume-gym source tree (no yume_gym/__init__.py)")


def command_line(tree: Path, arguments: list[str] | None) -> list[str]:
    """The interpreter call for one command; older trees kept the CLI in ``yume_gym.cli``."""
    if arguments is None:
        return [sys.executable, "-c", "import yume_gym"]
    cli = "yume_gym.commands.cli" if (tree / "yume_gym" / "commands" / "cli.py").is_file() else "yume_gym.cli"
    return [sys.executable, "-m", cli, *arguments]


def time_command(tree: Path, arguments: list[str] | None, repeats: int) -> list[float]:
    """Wall seconds of ``repeats`` runs of one command with ``tree`` first on the path."""
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'envs'}"}
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command_line(tree, arguments), env=env, check=True, capture_output=True)
        seconds.append(time.perf_counter() - start)
    return seconds


def tree_label(tree: Path) -> str:
    """The tree's commit (short hash), or its path where it is not a git checkout."""
    found = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return f"commit {found.stdout.strip()}" if found.returncode == 0 else str(tree)


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym bench startup``; returns the exit status."""
    args = parse_args(StartupArgs, argv, "yume-gym bench startup", __doc__.splitlines()[0])
    trees = {f"before ({tree_label(args.before)})": args.before} if args.before is not None else {}
    trees[f"this tree ({tree_label(SOURCE)})"] = SOURCE
    lines = [f"`yume-gym bench startup --repeats {args.repeats}" + (" --before <checkout>`" if args.before else "`"),
             f"Startup wall time, {args.repeats} runs each, median (fastest) in seconds; {machine('cpu')}.", "",
             "| command | " + " | ".join(trees) + " |", "|---|" + "---|" * len(trees)]  # fmt: skip
    for label, arguments in COMMANDS.items():
        cells = []
        for tree in trees.values():
            seconds = time_command(tree, arguments, args.repeats)
            cells.append(f"{statistics.median(seconds):.2f} ({min(seconds):.2f})")
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    publish("\n".join(lines) + "\n", args.out)
    return 0

"""The ``yume-gym`` command: one entry point, each job in its own module.

Every job is a ``main(argv) -> int`` function that parses its own arguments, so
``yume-gym <command> [<target>] --help`` shows that job's options. Jobs are imported only when
run, so ``yume-gym --help`` stays fast and optional extras are loaded only by the jobs that
need them. Errors a user can cause (bad values, missing files, Ctrl-C) end as one line on
stderr with exit status 2; ``--debug`` anywhere on the command line shows their traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from importlib.metadata import version

# command -> {target or None: "module:function"}
JOBS: dict[str, dict[str | None, str]] = {
    "demo": {None: "yume_gym.commands.demo:main"},
    "play": {None: "yume_gym.commands.play.window:main"},
    "serve": {None: "yume_gym.commands.play.server:main"},
    "doctor": {None: "yume_gym.commands.doctor:main"},
    "eval": {None: "yume_gym.evaluation.report:main", "codec": "yume_gym.evaluation.codec_quality:main"},
    "export": {None: "yume_gym.commands.export:main", "minari": "yume_gym.commands.export_minari:main"},
    "data": {"procworld": "procworld.dataset:main"},
    "train": {
        "codec": "yume_gym.train.codec:main",
        "foundation": "yume_gym.train.foundation:main",
        "distill": "yume_gym.train.distill:main",
        "idm": "yume_gym.train.inverse_dynamics:main",
    },
    # the agents (top-level agents/, installed as yume_gym_agents) sit above yume_gym: named here, never imported
    "agents": {job: f"yume_gym_agents.{job}:main" for job in ("train_ppo", "evaluate", "curves", "side_by_side")},
    "bench": {
        "generator": "yume_gym.commands.bench.generator:main",
        "env": "yume_gym.commands.bench.env:main",
        "episode": "yume_gym.commands.bench.episode:main",
        "startup": "yume_gym.commands.bench.startup:main",
        "remote": "yume_gym.commands.bench.remote:main",
        "soak": "yume_gym.commands.bench.soak:main",
        "yume5b": "yume_gym.commands.bench.yume5b:main",
        "step": "yume_gym.commands.bench.step:main",
        "procworld": "procworld.bench:main",
    },
}

SUMMARIES = {
    "demo": "walk a scripted route through a generated world and write demo.mp4",
    "play": "explore a generated world live in a window: WASD, arrows, typed events (needs [play])",
    "serve": "explore a generated world live from a web page, e.g. over an SSH tunnel (needs [play])",
    "doctor": "check a released Yume-5B checkpoint directory from file headers, without loading weights",
    "eval": "measure a world model against procworld on held-out scenes (`eval codec`: a codec on held-out clips)",
    "export": "re-save a world-model bundle for shipping (float16 weights); `export minari`: recordings as a Minari dataset",
    "data": "write training datasets (targets: procworld)",
    "train": "train the embedded model (targets: codec, foundation, distill, idm)",
    "agents": "train and score RL agents, dream against ground truth (targets: train_ppo, evaluate, curves, side_by_side)",
    "bench": "run a benchmark and write its table under runs/bench/ (targets: generator, env, step, episode, yume5b, remote, soak, procworld, startup)",
}


def _resolve(spec: str) -> Callable[[list[str]], int]:
    module_name, function_name = spec.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def _usage() -> str:
    lines = ["usage: yume-gym <command> [<target>] [options] | yume-gym --version", "", "commands:"]
    for command, summary in SUMMARIES.items():
        lines.append(f"  {command:<8} {summary}")
    lines.append("\nRun `yume-gym <command> [<target>] --help` for a command's options.")
    return "\n".join(lines)


# What bad input, a missing file, a full disk, a missing extra or Ctrl-C raise: reported in one line.
EXPECTED_ERRORS = (ValueError, TypeError, OSError, ImportError, KeyboardInterrupt)


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym`` with ``argv`` (default: the process arguments); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [arg for arg in argv if arg != "--debug"]
    try:
        return _dispatch(argv)
    except EXPECTED_ERRORS as err:
        if debug:
            raise
        what = " ".join(argv[:2]) if len(argv) > 1 and argv[1] in JOBS.get(argv[0], {}) else argv[0]
        message = str(err).strip() or ("interrupted" if isinstance(err, KeyboardInterrupt) else type(err).__name__)
        print(f"yume-gym {what}: error: {message}", file=sys.stderr)
        return 2


def _dispatch(argv: list[str]) -> int:
    """Run the job ``argv`` names; returns its exit status."""
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        print(f"yume-gym {version('yume-gym')}")
        return 0
    command, rest = argv[0], argv[1:]
    if command not in JOBS:
        print(f"yume-gym: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    targets = JOBS[command]
    if rest and rest[0] in targets:
        return int(_resolve(targets[rest[0]])(rest[1:]) or 0)
    if None in targets:
        return int(_resolve(targets[None])(rest) or 0)
    given = repr(rest[0]) if rest else "nothing"
    print(f"yume-gym {command}: expected a target, one of {sorted(targets)}; got {given}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

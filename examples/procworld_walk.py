"""Walk a scripted route through the procedural ground-truth world, with two text events.

    python examples/procworld_walk.py --out walk.mp4

Starts ``ProcWorldEnv`` from a scene caption, walks forward, turns and strafes, makes a red
pillar rise ahead and then lets night fall, and records every frame of every chunk (with the
held keys and the event text drawn on them) to ``walk.mp4`` and its sidecar ``walk.json``.
"""

from __future__ import annotations

import argparse

from procworld.env import ProcWorldEnv
from yume_gym.actions import action_from_keys
from yume_gym.env.recorder import ChunkRecorder

PROMPT = "a snowy field with green trees and blue boxes under a clear sky"
ROUTE = (
    {"W"}, {"W"}, {"W", "RIGHT"}, {"W", "RIGHT"}, {"W"}, {"W"}, {"W", "LEFT"}, {"W"}, {"W"}, {"D"},
    {"W", "UP"}, {"W"}, {"W", "DOWN"}, {"LEFT"}, {"LEFT"}, {"W"}, {"A"}, {"W"}, {"W", "RIGHT"}, {"S"},
)  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="walk.mp4", help="output video (a JSON sidecar is written beside it)")
    p.add_argument("--size", type=int, default=192, help="frame height and width in pixels")
    p.add_argument("--steps", type=int, default=len(ROUTE), help="route steps (8 frames each; the route repeats)")
    p.add_argument("--seed", type=int, default=1, help="seed of the scene layout")
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error("--steps must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    events = [(max(1, args.steps // 4), "a red pillar appears"), (max(2, args.steps // 2), "night falls")]
    env = ChunkRecorder(ProcWorldEnv(size=args.size, frames_per_step=8), args.out)
    env.reset(seed=args.seed, options={"prompt": PROMPT, "events": events})
    for i in range(args.steps):
        info = env.step(action_from_keys(ROUTE[i % len(ROUTE)]))[4]
        if info["event_started"]:
            print(f"step {info['step']}: {info['event_started']}")
    env.close()
    x, z = info["pose"][:2]
    print(f"walked to x={x:.2f} m, z={z:.2f} m; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

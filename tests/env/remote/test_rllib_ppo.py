"""RLlib PPO trains on world-model envs whose steps run on a world server (the example, toy size)."""

import math
import re
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_rllib_ppo_example_trains_through_a_server(ray_session, capsys):
    example = runpy.run_path(str(ROOT / "examples" / "rllib_ppo.py"))
    returns = example["main"](["--iterations", "2", "--env-runners", "2", "--envs-per-runner", "2", "--rows", "4",
                               "--frame-size", "42", "--episode-steps", "4", "--batch", "16", "--minibatch", "8",
                               "--epochs", "1"])  # fmt: skip
    assert len(returns) == 2 and all(math.isfinite(r) for r in returns)
    out = capsys.readouterr().out
    assert "iteration 2: episode return" in out
    mean_batch = float(re.search(r"yume-world-server-0: \d+ batched steps, mean batch ([\d.]+) rows", out).group(1))
    assert mean_batch > 1.5  # each runner's two envs step in one request

"""The PPO example trains in the generated world and scores the agent in ProcWorld, at toy size."""

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_train_ppo_example_runs_the_whole_loop(capsys):
    example = runpy.run_path(str(ROOT / "examples" / "train_ppo.py"))
    rate = example["main"](["--steps", "8", "--num-envs", "2", "--n-steps", "4", "--episodes", "2",
                            "--episode-steps", "3"])  # fmt: skip
    assert 0.0 <= rate <= 1.0
    assert "held-out episodes" in capsys.readouterr().out

"""The PPO example trains in the generated world and scores the agent in ProcWorld, at toy size."""

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_train_ppo_example_runs_the_whole_loop(capfd, tmp_path):
    example = runpy.run_path(str(ROOT / "examples" / "train_ppo.py"))
    out = tmp_path / "agent.zip"
    rate = example["main"](["--steps", "8", "--num-envs", "2", "--n-steps", "4", "--episodes", "2",
                            "--episode-steps", "3", "--out", str(out)])  # fmt: skip
    assert 0.0 <= rate <= 1.0
    printed = capfd.readouterr().out
    assert "held-out episodes" in printed
    assert "ep_rew_mean" in printed and "ep_len_mean" in printed  # PPO logs the episodes
    assert f"saved the agent to {out}" in printed and out.is_file()

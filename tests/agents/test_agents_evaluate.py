"""Evaluation of saved and reference agents: reproducible with a seed, tables, videos, learning curves."""

import csv
import json
import math

import numpy as np
import pytest
from PIL import Image
from stable_baselines3 import PPO

from agents.callbacks import save_agent
from agents.curves import main as curves_main
from agents.evaluate import held_out_episodes, load_policy
from agents.evaluate import main as evaluate_main
from agents.side_by_side import main as side_by_side_main
from agents.stats import bootstrap_ci, markdown_table, summarize
from agents.train_ppo import main as train_main
from agents.worlds import AgentView, make_vec_env
from yume_gym.env.tasks import make_task

OBS = 36
VIEW = ["--obs-size", str(OBS), "--frame-stack", "2", "--episode-steps", "4"]


@pytest.fixture(scope="module")
def policy(model, tmp_path_factory):
    """An untrained PPO agent saved for reach-red with the test's observations."""
    venv = make_vec_env("procworld", AgentView("reach-red", obs_size=OBS, frame_stack=2), model, num_envs=1)
    agent = PPO("CnnPolicy", venv, n_steps=8, batch_size=8, seed=0, device="cpu")
    return str(save_agent(agent, tmp_path_factory.mktemp("policy") / "ppo.zip"))


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def evaluate(out, bundle, policy, *extra):
    argv = ["--task", "reach-red", "--checkpoint", bundle, "--policies", f"ppo={policy}", "--episodes", "2",
            "--baseline-seeds", "2", "--no-progress", "--out", str(out), *VIEW, *extra]  # fmt: skip
    assert evaluate_main(argv) == 0
    return read_rows(out / "episodes.csv")


def test_evaluation_is_reproducible_with_a_seed(bundle, policy, tmp_path):
    first = evaluate(tmp_path / "a", bundle, policy, "--worlds", "procworld,yume")
    again = evaluate(tmp_path / "b", bundle, policy, "--worlds", "procworld,yume")
    assert first == again
    units = {(r["agent"], r["unit"], r["world"]) for r in first}
    assert len(units) == 8 and len(first) == 16  # (2 random seeds, scripted, ppo) x 2 worlds x 2 episodes
    scenes = set(make_task("reach-red").eval_scenes)
    assert {r["scene"] for r in first} <= scenes
    assert all(r["success"] in ("True", "False") for r in first if r["world"] == "procworld")
    assert all(r["score"] == "" for r in first if r["world"] == "yume")
    table = (tmp_path / "a" / "table.md").read_text()
    assert table.count("\n") == 2 + 6  # a row per (agent, world)
    assert "| ppo | yume | 1 x 2 |" in table and "| random | procworld | 2 x 2 |" in table
    other = evaluate(tmp_path / "c", bundle, policy, "--seed", "1", "--baselines", "random", "--policies", "")
    assert [r["seed"] for r in other[:2]] != [r["seed"] for r in first[:2]]


def test_videos_replay_the_evaluated_episodes(bundle, policy, tmp_path):
    rows = evaluate(tmp_path, bundle, policy, "--baselines", "scripted", "--videos", "1")
    videos = sorted((tmp_path / "videos").rglob("*.mp4"))
    assert videos and all(v.stat().st_size > 1000 for v in videos)
    for video in videos:
        agent, name = video.parent.name, video.stem
        row = next(r for r in rows if r["agent"] == agent and name.endswith(f"{int(r['episode']):03d}"))
        assert name.startswith("success" if row["success"] == "True" else "failure")
        sidecar = json.loads(video.with_suffix(".json").read_text())
        assert len(sidecar["steps"]) == int(row["length"])
        strip = np.asarray(Image.open(video.with_suffix(".png")))
        assert strip.shape == (OBS, OBS * min(10, int(row["length"]) + 1), 3)


def test_side_by_side_replays_procworld_episodes_in_the_dream(bundle, tmp_path, capsys):
    out = tmp_path / "sheet" / "side.png"
    argv = ["--checkpoint", bundle, "--episodes", "2", "--frames", "3", "--episode-steps", "4", "--out", str(out)]
    assert side_by_side_main(argv) == 0
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (2 * 2 * 32, 3 * 32, 3)  # (ProcWorld, dream) x 2 episodes, 3 frames of 32x32
    printed = capsys.readouterr().out
    assert printed.count("return in procworld") == 2 and "in the dream" in printed
    with pytest.raises(SystemExit):
        side_by_side_main(["--agent", "ppo", "--out", str(out)])


def test_held_out_episodes_and_policy_checks(policy):
    episodes = held_out_episodes("reach-red", 7, seed=0)
    assert episodes == held_out_episodes("reach-red", 7, seed=0) != held_out_episodes("reach-red", 7, seed=1)
    assert [scene for scene, _ in episodes][:5] == list(make_task("reach-red").eval_scenes)
    assert isinstance(load_policy(policy, AgentView("reach-red", obs_size=OBS, frame_stack=2)), PPO)
    with pytest.raises(ValueError, match="--obs-size and --frame-stack"):
        load_policy(policy, AgentView("reach-red", obs_size=64, frame_stack=2))
    with pytest.raises(ValueError, match="--action-space"):
        load_policy(policy, AgentView("reach-red", action_space="discrete", obs_size=OBS, frame_stack=2))


def test_bootstrap_interval_is_scipys_percentile_bootstrap():
    from scipy.stats import bootstrap

    values = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    expected = bootstrap((np.array(values),), np.mean, n_resamples=10_000, method="percentile",
                         rng=np.random.default_rng(3)).confidence_interval  # fmt: skip
    assert bootstrap_ci(values, seed=3) == (0.6, expected.low, expected.high)


def test_stats_intervals_are_over_seeds_when_there_are_several():
    mean, low, high = bootstrap_ci([0.0, 1.0] * 50)
    assert mean == 0.5 and 0.35 < low < 0.5 < high < 0.65
    assert bootstrap_ci([2.0]) == (2.0, 2.0, 2.0) and all(math.isnan(v) for v in bootstrap_ci([]))
    rows = [{"agent": "a", "world": "procworld", "unit": u, "return": float(u), "length": 5, "success": u == 1}
            for u in (0, 1) for _ in range(3)]  # fmt: skip
    rows += [{"agent": "b", "world": "yume", "unit": 0, "return": r, "length": 5, "success": None}
             for r in (1.0, 3.0)]  # fmt: skip
    a, b = summarize(rows)
    assert (a["units"], a["episodes"], a["interval_over"]) == (2, 6, "seeds") and a["success"][0] == 0.5
    assert b["interval_over"] == "episodes" and b["return"][0] == 2.0 and math.isnan(b["success"][0])
    table = markdown_table([a, b])
    assert "| a | procworld | 2 x 3 | 0.50 [0.00, 1.00] |" in table and "| b | yume | 1 x 2 | – |" in table


def test_learning_curves_score_every_checkpoint(bundle, tmp_path):
    run = tmp_path / "run-s0"
    train_main(["--world", "procworld", "--checkpoint", bundle, "--steps", "16", "--num-envs", "2",
                "--n-steps", "4", "--batch-size", "8", "--epochs", "1", "--checkpoint-every", "8",
                "--policy-device", "cpu", "--no-progress", "--out", str(run), *VIEW])  # fmt: skip
    argv = ["--task", "reach-red", "--checkpoint", bundle, "--runs", f"ppo={tmp_path}/run-s*", "--episodes", "1",
            "--baselines", "random", "--no-progress", "--out", str(tmp_path / "curves"), *VIEW]  # fmt: skip
    assert curves_main(argv) == 0
    rows = read_rows(tmp_path / "curves" / "curves.csv")
    assert [int(r["env_steps"]) for r in rows] == [8, 16] and {r["label"] for r in rows} == {"ppo"}
    assert (tmp_path / "curves" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert np.isfinite([float(r["success"]) for r in rows]).all()

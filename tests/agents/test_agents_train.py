"""The agents' worlds look alike to a policy, and PPO training runs at toy size in both."""

import json

import numpy as np
import pytest
import torch

from agents.train_ppo import main as train_main
from agents.worlds import DREAM_STARTS, AgentView, ProcWorldStarts, make_vec_env, procworld_settings
from yume_gym.env.core import resize_frames
from yume_gym.env.tasks import make_task

OBS = 36  # the smallest side stable-baselines3's NatureCNN takes


def test_both_worlds_give_the_policy_the_same_interface(model):
    view = AgentView("reach-red", obs_size=OBS, frame_stack=3, max_episode_steps=2)
    assert procworld_settings(model)["frames_per_step"] == model.chunk_frames
    envs = {world: make_vec_env(world, view, model, num_envs=2) for world in ("procworld", "yume")}
    episodes, first = {}, {}
    for world, venv in envs.items():
        venv.seed(0)
        venv.set_options({"prompt": make_task("reach-red").eval_scenes[0]})
        obs = first[world] = venv.reset()
        assert obs.shape == (2, OBS, OBS, 9) and obs.dtype == np.uint8
        assert venv.observation_space == envs["procworld"].observation_space
        assert venv.action_space == envs["procworld"].action_space
        for _ in range(2):
            obs, rewards, dones, infos = venv.step(np.array([1, 6]))
        assert dones.all() and rewards.dtype == np.float32 and infos[0]["TimeLimit.truncated"]
        episodes[world] = set(infos[0]["episode"])
    assert episodes["yume"] == {"r", "l", "t"}  # a generated world has no true state to judge
    assert episodes["procworld"] == {"r", "l", "t", "task_success", "task_score"}
    assert np.array_equal(first["yume"], first["procworld"])  # each dream opens on its ProcWorld twin's frame
    assert not np.array_equal(first["yume"][0], first["yume"][1])  # env i has seed 0 + i: its own layout
    with pytest.raises(ValueError, match="'mars'"):
        make_vec_env("mars", view, model, 1)


def test_dream_episodes_open_on_procworld_first_frames(model, monkeypatch):
    starts = ProcWorldStarts(model)
    scene = make_task("reach-red").train_scenes[0]
    frame = starts(scene, 11)
    assert frame.shape == (*model.frame_size, 3) and np.array_equal(frame, starts(scene, 11))
    assert not np.array_equal(frame, starts(scene, 12))  # another seed, another layout
    calls, original = [], ProcWorldStarts.__call__
    monkeypatch.setattr(ProcWorldStarts, "__call__",
                        lambda self, prompt, seed: calls.append((prompt, seed)) or original(self, prompt, seed))
    opened = {}
    for start in DREAM_STARTS:
        venv = make_vec_env("yume", AgentView("reach-red", obs_size=OBS, frame_stack=1, dream_start=start), model, 1)
        venv.seed(0)
        venv.set_options({"prompt": scene})
        opened[start] = venv.reset()[0]
    ((prompt, seed),) = calls  # only the "procworld" start asks for a frame
    assert prompt == scene
    expected = resize_frames(original(starts, scene, seed)[None, None], (OBS, OBS))[0, 0]
    assert np.array_equal(opened["procworld"], expected) and not np.array_equal(opened["text"], expected)
    with pytest.raises(ValueError, match="dream_start 'image'"):
        AgentView("reach-red", dream_start="image")


@pytest.mark.parametrize("world", ["procworld", "yume"])
def test_train_ppo_runs_at_toy_size(world, bundle, tmp_path):
    out = tmp_path / world
    argv = ["--world", world, "--task", "reach-red", "--checkpoint", bundle, "--steps", "32", "--num-envs", "2",
            "--n-steps", "8", "--batch-size", "16", "--epochs", "1", "--obs-size", str(OBS), "--frame-stack", "2",
            "--episode-steps", "3", "--checkpoint-every", "16", "--policy-device", "cpu", "--no-progress",
            "--threads", "1", "--out", str(out)]  # fmt: skip
    threads_before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert train_main(argv) == 0
        assert torch.get_num_threads() == 2  # the run's --threads does not outlive it
    finally:
        torch.set_num_threads(threads_before)
    summary = json.loads((out / "run.json").read_text())
    assert summary["env_steps"] == 32 and summary["env_steps_per_s"] > 0 and summary["torch_threads"] == 1
    saved = [p.name for p in sorted((out / "checkpoints").iterdir())]
    assert saved == ["step-000000016.zip", "step-000000032.zip"]
    assert (out / "final.zip").is_file() and "time/fps" in (out / "progress.csv").read_text()
    episodes = (out / "episodes.csv").read_text().splitlines()
    assert episodes[0] == "env_steps,wall_s,return,length,ended_by_task,success,score" and len(episodes) > 4
    judged = [line.split(",")[5] for line in episodes[1:]]
    assert all(j in ("True", "False") for j in judged) if world == "procworld" else all(j == "" for j in judged)


def test_train_ppo_arguments(capsys):
    with pytest.raises(SystemExit) as done:
        train_main(["--help"])
    assert done.value.code == 0 and "--frame-stack" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        train_main(["--world", "mars"])
    assert "unknown --world 'mars'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_main(["--task", "reach-the-moon"])
    assert "unknown task" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_main(["--threads", "-1"])
    assert "--threads -1 must be >= 0" in capsys.readouterr().err


def test_a_cut_off_run_resumes_from_its_latest_checkpoint(bundle, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--world", "procworld", "--task", "reach-red", "--checkpoint", bundle, "--num-envs", "2",
            "--n-steps", "8", "--batch-size", "16", "--epochs", "1", "--obs-size", str(OBS), "--frame-stack", "2",
            "--episode-steps", "3", "--checkpoint-every", "16", "--policy-device", "cpu", "--no-progress",
            "--out", str(out)]  # fmt: skip
    assert train_main([*argv, "--steps", "32"]) == 0
    assert train_main([*argv, "--steps", "64"]) == 2  # a finished run is not trained over
    assert "holds a finished run" in capsys.readouterr().err
    # Cut it off after the first checkpoint: no final.zip, no later checkpoint.
    (out / "final.zip").unlink()
    (out / "checkpoints/step-000000032.zip").unlink()
    assert train_main([*argv, "--steps", "48"]) == 0
    summary = json.loads((out / "run.json").read_text())
    assert summary["resumed_from"] == 16 and summary["env_steps"] == 48
    saved = [p.name for p in sorted((out / "checkpoints").iterdir())]
    assert saved == ["step-000000016.zip", "step-000000032.zip", "step-000000048.zip"]
    assert (out / "progress-from-16.csv").is_file() and (out / "progress.csv").is_file()
    steps = [int(line.split(",")[0]) for line in (out / "episodes.csv").read_text().splitlines()[1:]]
    assert steps == sorted(steps) and steps[-1] > 16  # old rows up to 16, then the resumed ones
    (out / "final.zip").unlink()
    assert train_main([*argv, "--steps", "64", "--learning-rate", "0.1"]) == 2  # not the first run's settings
    assert "learning_rate=0.0005" in capsys.readouterr().err

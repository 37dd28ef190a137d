"""Training checkpoints: a round trip without pickle, clear errors, and a save on SIGINT/SIGTERM."""

import os
import random
import signal

import numpy as np
import pytest
import torch

from yume_gym.train.checkpoint import load_checkpoint, random_states, restore, save_checkpoint
from yume_gym.train.loop import CHECKPOINT_FILE, LoopSettings, run_loop
from yume_gym.train.state_codec import decode_state, encode_state


def trained_pair(width=3):
    torch.manual_seed(0)
    model = torch.nn.Linear(width, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.99))
    model(torch.randn(4, width)).square().sum().backward()
    optimizer.step()
    return model, optimizer


def test_round_trip_restores_modules_optimizer_and_random_states(tmp_path):
    model, optimizer = trained_pair()
    state = {"step": 7, "random": random_states(), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "args": {"lr": 1e-2, "name": "run", "sizes": [1, 2], "minutes": None}, "scale": 0.25}
    expected = (random.random(), np.random.rand(), torch.rand(1))
    save_checkpoint(tmp_path / "c.safetensors", state)
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]
    saved = load_checkpoint(tmp_path / "c.safetensors")
    assert saved["args"] == state["args"] and saved["scale"] == 0.25
    fresh = torch.nn.Linear(3, 2)
    fresh_optimizer = torch.optim.AdamW(fresh.parameters())
    assert restore(saved, model=fresh, optimizer=fresh_optimizer) == 7
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))
    assert fresh_optimizer.state_dict()["param_groups"][0]["betas"] == (0.9, 0.99)
    moments = fresh_optimizer.state_dict()["state"][0]["exp_avg"]
    assert torch.equal(moments, optimizer.state_dict()["state"][0]["exp_avg"])
    assert (random.random(), np.random.rand()) == expected[:2] and torch.equal(torch.rand(1), expected[2])


def test_objects_that_are_not_plain_data_are_refused_both_ways():
    with pytest.raises(TypeError, match=r"cannot store Linear at state.model"):
        encode_state({"model": torch.nn.Linear(2, 2)})
    for bad in ({"object": "os.system"}, {"tensor": "t9"}, {"ndarray": [1], "dtype": "O"}):
        with pytest.raises(ValueError):
            decode_state(bad, {})


def test_missing_file_is_a_fresh_run_and_damage_is_a_clear_error(tmp_path):
    assert load_checkpoint(tmp_path / CHECKPOINT_FILE) is None
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"\x00" * 40)
    with pytest.raises(ValueError, match="is damaged or not a yume-gym training checkpoint.*delete it"):
        load_checkpoint(tmp_path / CHECKPOINT_FILE)


def test_resuming_with_other_shapes_names_the_part_and_the_fix(tmp_path):
    model, optimizer = trained_pair()
    save_checkpoint(tmp_path / "c.safetensors", {"step": 1, "random": random_states(), "model": model.state_dict()})
    with pytest.raises(ValueError, match=r"checkpoint's 'model' does not fit this run .*size mismatch.*--out"):
        restore(load_checkpoint(tmp_path / "c.safetensors"), model=torch.nn.Linear(5, 2))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_training_saves_a_resumable_checkpoint(tmp_path, signum):
    model, optimizer = trained_pair()
    settings = LoopSettings(tmp_path, steps=100, progress=False)

    def train_step(step: int) -> dict[str, float]:
        if step == 3:
            os.kill(os.getpid(), signum)  # arrives mid-run, as a Ctrl-C would
        return {"loss": 1.0 / (step + 1)}

    def state() -> dict:
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict()}

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match=f"stopped by {signal.Signals(signum).name} at step 4"):
        run_loop("toy", settings, 0, train_step, state, ["loss"])
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before  # handlers put back
    assert restore(load_checkpoint(tmp_path / CHECKPOINT_FILE), model=model, optimizer=optimizer) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_FILE, "log.csv"]  # no temporary files

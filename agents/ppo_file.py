"""Load a saved stable-baselines3 PPO agent without unpickling anything.

A PPO ``.zip`` stores some entries of its ``data`` JSON as cloudpickle (the policy class, the
spaces, schedules), which ``PPO.load`` would run. :func:`load_ppo` reads that JSON itself, rebuilds
the spaces from their readable fields, supplies the classes and schedules our agents use, and
drops the rollout state of the last run (its last observations and episode-statistics window:
a resumed run resets its envs and starts a new window), and refuses a file with any other
pickled entry. The weights are read by torch with ``weights_only``.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.policies import ActorCriticCnnPolicy
from stable_baselines3.common.utils import ConstantSchedule

REPLACED = frozenset({"policy_class", "observation_space", "action_space", "rollout_buffer_class", "clip_range",
                      "lr_schedule"})
# Rollout state that learn() rebuilds when it is None.
DROPPED = frozenset({"_last_obs", "_last_episode_starts", "_last_original_obs", "ep_info_buffer", "ep_success_buffer"})


def load_ppo(path: str | os.PathLike, env: Any = None, device: str = "cpu", clip_range: float = 0.2) -> PPO:
    """The PPO agent saved at ``path`` (by ``agent.save``), with ``clip_range`` for further training."""
    data = saved_data(path)
    pickled = sorted(k for k, v in data.items() if isinstance(v, dict) and ":serialized:" in v)
    unknown = sorted(set(pickled) - REPLACED - DROPPED)
    if unknown:
        raise ValueError(f"{str(path)!r} holds pickled {unknown}, which would run code when loaded; "
                         "only agents saved by this project's training (CnnPolicy, constant schedules) load")
    if not isinstance(data.get("learning_rate"), (int, float)):
        raise ValueError(f"{str(path)!r}: learning_rate {data.get('learning_rate')!r:.80} is not a number")
    custom = {
        "policy_class": ActorCriticCnnPolicy,
        "observation_space": space_from_fields(data.get("observation_space"), "observation_space", path),
        "action_space": space_from_fields(data.get("action_space"), "action_space", path),
        "rollout_buffer_class": RolloutBuffer,
        "clip_range": clip_range,
        "lr_schedule": ConstantSchedule(float(data["learning_rate"])),
        **{name: None for name in DROPPED},
    }
    return PPO.load(path, env=env, device=device, custom_objects=custom)


def saved_data(path: str | os.PathLike) -> dict[str, Any]:
    """The ``data`` JSON of a saved agent, read as plain JSON."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{str(path)!r} is not a saved PPO agent ({type(err).__name__}: {err})") from err
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r} is not a saved PPO agent (its data is a JSON {type(data).__name__})")
    return data


def space_from_fields(entry: Any, name: str, path: str | os.PathLike) -> spaces.Space:
    """A Box (scalar bounds) or Discrete space rebuilt from the readable fields SB3 writes beside its pickle."""
    kind = entry.get(":type:", "") if isinstance(entry, dict) else ""
    try:
        if kind.endswith("spaces.box.Box'>"):
            dtype = np.dtype(entry["dtype"])
            bound = int if dtype.kind in "iu" else float
            return spaces.Box(bound(entry["low_repr"]), bound(entry["high_repr"]), tuple(entry["_shape"]), dtype)
        if kind.endswith("spaces.discrete.Discrete'>"):
            return spaces.Discrete(int(entry["n"]), start=int(entry["start"]))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{str(path)!r}: cannot read its {name} ({type(err).__name__}: {err})") from err
    raise ValueError(f"{str(path)!r}: its {name} is {kind or 'missing'}; only Box and Discrete spaces load")

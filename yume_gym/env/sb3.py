"""A stable-baselines3 ``VecEnv`` over :class:`~yume_gym.env.vector.YumeWorldVectorEnv`.

SB3 cannot take a Gymnasium ``VectorEnv``; this adapter gives it the batched world (one
forward per step for all envs) with SB3's conventions: ``reset()`` returns observations only,
episodes reset within the ending step, and each ending info carries ``terminal_observation``,
``TimeLimit.truncated`` and ``episode`` (return, length, time, as SB3's ``Monitor``), so PPO
logs ``rollout/ep_rew_mean``.

>>> from stable_baselines3 import PPO
>>> venv = YumeWorldSB3VecEnv(num_envs=2, frame_size=48, max_episode_steps=4)
>>> model = PPO("CnnPolicy", venv, n_steps=4, batch_size=8, n_epochs=1)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from yume_gym.env.vector import YumeWorldVectorEnv


class YumeWorldSB3VecEnv(VecEnv):
    """SB3 view of a same-step-autoreset :class:`YumeWorldVectorEnv`.

    Pass ``venv`` (built with ``autoreset_mode=AutoresetMode.SAME_STEP``) or the vector env's
    arguments (``num_envs``, ``checkpoint``, ``frame_size``, ``max_episode_steps``, ...;
    ``server=pool`` runs the rows on a world server, see :mod:`yume_gym.env.remote`).
    Attributes reached through ``get_attr``/``set_attr`` are the vector env's, shared by every
    row. ``env_method`` honours ``indices`` for methods that take ``rows`` (``set_event``) or
    one ``row`` (``get_state``, ``set_state``); other methods act on every row at once.
    """

    def __init__(self, venv: YumeWorldVectorEnv | None = None, **kwargs: Any) -> None:
        if venv is None:
            venv = YumeWorldVectorEnv(autoreset_mode=AutoresetMode.SAME_STEP, **kwargs)
        elif kwargs:
            raise ValueError(f"pass either venv or the vector env's arguments, not both (got {sorted(kwargs)})")
        if venv.autoreset_mode != AutoresetMode.SAME_STEP:
            raise ValueError("the vector env must use autoreset_mode=AutoresetMode.SAME_STEP for stable-baselines3")
        self.venv = venv
        self._actions: np.ndarray | None = None
        self._episode_returns = np.zeros(venv.num_envs)
        self._episode_lengths = np.zeros(venv.num_envs, dtype=np.int64)
        self._started_at = time.time()
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)

    def reset(self) -> VecEnvObs:
        options = self._options[0] or None
        obs, infos = self.venv.reset(seed=self._seeds[0], options=options)
        self.reset_infos = split_vector_info(infos, self.num_envs)
        self._episode_returns[:] = 0
        self._episode_lengths[:] = 0
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() without step_async(); call step(actions)")
        obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
        self._actions = None
        dones = terminated | truncated
        self._episode_returns += rewards
        self._episode_lengths += 1
        row_infos = split_vector_info(infos, self.num_envs)
        for row in np.flatnonzero(dones):
            final = dict(row_infos[row].pop("final_info", {}))
            final["episode"] = {"r": float(self._episode_returns[row]), "l": int(self._episode_lengths[row]),
                                "t": round(time.time() - self._started_at, 6)}  # fmt: skip
            self._episode_returns[row] = 0
            self._episode_lengths[row] = 0
            final["terminal_observation"] = row_infos[row].pop("final_obs")
            final["TimeLimit.truncated"] = bool(truncated[row] and not terminated[row])
            self.reset_infos[row] = row_infos[row]
            row_infos[row] = final
        return obs, rewards.astype(np.float32), dones, row_infos

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.venv, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        if not self._all_rows(indices):
            raise ValueError(
                f"attribute {attr_name!r} is shared by every row of the batched world; call set_attr without "
                f"indices (got indices={indices!r})"
            )
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        method = getattr(self.venv, method_name)
        rows = list(self._get_indices(indices))
        parameters = inspect.signature(method).parameters
        if "rows" in parameters:
            result = method(*method_args, rows=rows, **method_kwargs)
            return [result for _ in rows]
        if "row" in parameters:
            return [method(row, *method_args, **method_kwargs) for row in rows]
        if not self._all_rows(indices):
            raise ValueError(
                f"{method_name}() acts on every row of the batched world at once; call it without indices "
                f"(got indices={indices!r})"
            )
        result = method(*method_args, **method_kwargs)
        return [result for _ in rows]

    def _all_rows(self, indices: VecEnvIndices) -> bool:
        return sorted(set(self._get_indices(indices))) == list(range(self.num_envs))

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        frames = self.venv.render()
        return [None] * self.num_envs if frames is None else list(frames)


def split_vector_info(infos: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Gymnasium's vector info (arrays with ``_key`` masks) as one dict per env."""
    rows: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, value in infos.items():
        if key.startswith("_"):
            continue
        if isinstance(value, dict):
            for row, sub in enumerate(split_vector_info(value, num_envs)):
                if sub:
                    rows[row][key] = sub
            continue
        mask = infos.get(f"_{key}", np.ones(num_envs, dtype=bool))
        for row in np.flatnonzero(mask):
            rows[row][key] = value[row]
    return rows

"""N generated worlds stepped in one batched forward: a Gymnasium ``VectorEnv``.

Unlike ``SyncVectorEnv`` over N single envs (N forwards per step), this vector env holds one
:class:`~yume_gym.env.core.WorldEnvCore` of N rows, so each step is one batched pass of the
sampler. It is the ``vector_entry_point`` of ``yume_gym/YumeWorld-v0``::

    envs = gym.make_vec("yume_gym/YumeWorld-v0", num_envs=8)

Autoreset modes and seeds: docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from yume_gym.env.core import build_core, episode_seeds
from yume_gym.env.frames import chunk_metadata
from yume_gym.env.options import EnvOptions
from yume_gym.world.batch import WorldSnapshot


class YumeWorldVectorEnv(VectorEnv):
    """``num_envs`` worlds of one world model; arguments as :class:`yume_gym.env.single.YumeWorldEnv`.

    ``max_episode_steps`` truncates each row's episode (``gym.make_vec`` passes the registered
    100); ``autoreset_mode`` is NEXT_STEP (default) or SAME_STEP. Reset options apply to every row.
    With ``task``, every row gets its own copy of the task's reward function, and a sequence of
    prompts (a task's training scenes) gives each episode its own, picked by its seed.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 16, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        options: EnvOptions | None = None,
        *,
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        options = EnvOptions.build(options, **kwargs)
        autoreset_mode = AutoresetMode(autoreset_mode)
        if autoreset_mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"autoreset_mode {autoreset_mode} is not supported; use NEXT_STEP or SAME_STEP")
        if max_episode_steps is not None and (not isinstance(max_episode_steps, int) or max_episode_steps < 1):
            raise ValueError(f"max_episode_steps={max_episode_steps!r} must be a positive integer or None")
        if options.render_mode is not None and options.render_mode != "rgb_array":
            raise ValueError(f"render_mode {options.render_mode!r} is not supported; use None or 'rgb_array'")
        render_mode = options.render_mode
        self.options = options
        self.core, self.task = build_core(options, num_envs)
        self.model = self.core.model
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.autoreset_mode = autoreset_mode
        self.render_mode = render_mode
        self.metadata = chunk_metadata({**self.metadata, "autoreset_mode": autoreset_mode}, self.model.fps,
                                       self.model.chunk_frames)
        self.single_action_space = self.core.single_action_space
        self.single_observation_space = self.core.single_observation_space
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self._needs_reset = np.zeros(num_envs, dtype=bool)
        self._started = False

    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None):
        """Start every row: row i on seed ``seed + i`` (or ``seed[i]``), which also seeds the
        ``np_random`` that later episodes' seeds are drawn from; without a seed, drawn from it."""
        seeds = episode_seeds(self.np_random, seed, self.num_envs)
        super().reset(seed=None if seed is None else seeds[0])
        rows = list(range(self.num_envs))
        obs, infos = self.core.reset(rows, seeds, options)
        self._needs_reset[:] = False
        self._started = True
        return obs, self._merge_infos(rows, infos)

    def step(self, actions: Any):
        if not self._started:
            raise RuntimeError("step() was called before reset(); call envs.reset() first")
        if isinstance(actions, (str, bytes, dict)) or not isinstance(actions, (Sequence, np.ndarray)):
            raise ValueError(f"actions {actions!r:.80} must be a sequence or array of {self.num_envs} actions, "
                             "one per env")
        actions = list(actions)
        if len(actions) != self.num_envs:
            raise ValueError(f"got {len(actions)} actions for {self.num_envs} envs; pass one per env")
        obs = np.empty(self.observation_space.shape, self.observation_space.dtype)
        rewards = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {}
        resetting = np.flatnonzero(self._needs_reset).tolist()
        stepping = np.flatnonzero(~self._needs_reset).tolist()
        if resetting:  # NEXT_STEP: rows that ended last step start again; their actions are ignored
            obs[resetting], reset_infos = self.core.reset(resetting, self._draw_seeds(len(resetting)), None)
            infos = self._merge_infos(resetting, reset_infos, infos)
        step_infos: dict[int, dict] = {}
        if stepping:
            obs[stepping], rewards[stepping], terminated[stepping], infos_list = self.core.step(
                stepping, [actions[i] for i in stepping]
            )
            step_infos = dict(zip(stepping, infos_list))
            if self.max_episode_steps is not None:
                truncated[stepping] = [info["step"] >= self.max_episode_steps for info in infos_list]
        done = np.flatnonzero(terminated | truncated).tolist()
        same_step = self.autoreset_mode == AutoresetMode.SAME_STEP
        for row, info in step_infos.items():
            if same_step and row in done:  # the ending step's results move to final_obs / final_info
                info = {"final_obs": obs[row].copy(), "final_info": info}
            infos = self._add_info(infos, info, row)
        if same_step:
            if done:
                obs[done], reset_infos = self.core.reset(done, self._draw_seeds(len(done)), None)
                infos = self._merge_infos(done, reset_infos, infos)
        else:
            self._needs_reset = terminated | truncated
        return obs, rewards, terminated, truncated, infos

    def _draw_seeds(self, n: int) -> list[int]:
        return episode_seeds(self.np_random, None, n)

    def _merge_infos(self, rows: list[int], row_infos: list[dict], infos: dict | None = None) -> dict:
        infos = {} if infos is None else infos
        for row, info in zip(rows, row_infos):
            infos = self._add_info(infos, info, row)
        return infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        """The last frame of every row, (H, W, 3) uint8 each."""
        if self.render_mode is None:
            return None
        return tuple(self.core.render(row) for row in range(self.num_envs))

    def close_extras(self, **kwargs: Any) -> None:
        if hasattr(self, "core"):  # a constructor that raised made none
            self.core.close()

    def set_event(self, text: str | None, rows: Sequence[int] | None = None) -> None:
        """Set (or with None clear) the live event of ``rows`` (default: all)."""
        for row in range(self.num_envs) if rows is None else rows:
            self.core.set_event(row, text)

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Gymnasium's ``VectorEnv.call``: call (or read) ``name`` once on this batched env, whose
        methods act on every row (``call("set_event", text)`` sets it everywhere); one result per
        row: ``render`` gives each row's frame, other results are repeated."""
        attribute = getattr(self, name)
        result = attribute(*args, **kwargs) if callable(attribute) else attribute
        if name == "render" and result is not None:
            return result
        return (result,) * self.num_envs

    def get_attr(self, name: str) -> tuple[Any, ...]:
        """Gymnasium's ``VectorEnv.get_attr``: the attribute, shared by every row, once per row."""
        return (getattr(self, name),) * self.num_envs

    def set_attr(self, name: str, values: Any) -> None:
        """Gymnasium's ``VectorEnv.set_attr``: one value, or a list of one per row (all equal, as the
        rows share their attributes)."""
        if isinstance(values, (list, tuple)):
            if len(values) != self.num_envs:
                raise ValueError(f"set_attr({name!r}) got {len(values)} values for {self.num_envs} envs; pass one per env")
            if any(value is not values[0] and value != values[0] for value in values):
                raise ValueError(f"set_attr({name!r}) got different values per row; the rows share {name!r}, pass one value")
            values = values[0]
        setattr(self, name, values)

    def get_state(self, row: int) -> WorldSnapshot:
        """A snapshot of one row's world (see :meth:`yume_gym.world.batch.WorldBatch.get_state`)."""
        return self.core.get_state(row)

    def set_state(self, row: int, snapshot: WorldSnapshot) -> np.ndarray:
        """Restore one row from a snapshot; returns its observation. Its episode step count comes with it."""
        self._needs_reset[row] = False
        return self.core.set_state(row, snapshot)


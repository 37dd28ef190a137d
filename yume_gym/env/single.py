"""The world-model env: Yume-1.5's generated worlds as a Gymnasium environment."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from yume_gym.env.core import build_core, episode_seeds
from yume_gym.env.frames import chunk_metadata
from yume_gym.env.options import EnvOptions
from yume_gym.world.batch import WorldSnapshot


class YumeWorldEnv(gym.Env):
    """A first-person world generated chunk by chunk by a video world model.

    ## Description

    Every step feeds a keyboard/camera action to Yume-1.5 (a video diffusion transformer with
    TSCM history compression, sampled in 4 steps) and returns the next generated chunk of video.
    There is no simulator: the world is whatever the model imagines, conditioned on the start
    image or prompt, all previous frames, the action's caption and the active event text.
    By default the env runs the small embedded model (``model.is_trained`` tells whether its
    trained weights are installed; otherwise it is a random-weight stand-in).

    ## Action Space

    ``action_space="discrete"`` (default): ``Discrete(81)``, id = movement * 9 + rotation, with
    movements none, W, A, S, D, W+A, W+D, S+A, S+D and rotations none, →, ←, ↑, ↓, ↑→, ↑←, ↓→,
    ↓←. ``"multi_discrete"``: ``MultiDiscrete([9, 9])`` = (movement, rotation). ``"compact"``:
    ``Discrete(9)`` = no-op, W, S, A, D, ←, →, ↑, ↓. See :mod:`yume_gym.actions`.

    ## Observation Space

    ``observation="frame"`` (default): the chunk's last frame, ``Box(0, 255, (H, W, 3), uint8)``
    with (H, W) = ``frame_size`` (default: the model's frame size), ready for SB3's
    ``CnnPolicy``. ``"chunk"``: all frames of the chunk, ``(T, H, W, 3)`` uint8. ``"latent"``:
    the chunk's normalised latents, ``(C, F, h, w)`` float32.

    ## Rewards

    0.0 per step unless ``reward_fn(frames, info) -> float`` is given; it sees the chunk's frames
    ``(T, H, W, 3)`` uint8 at the model's resolution and the step's info. ``task="reach-red"``
    (a name from :data:`yume_gym.env.tasks.TASK_NAMES`) brings a task's reward function, its
    episode-ending threshold and its training scenes as prompts (see :mod:`yume_gym.env.tasks`).

    ## Starting State

    ``reset(seed=..., options={"image": ..., "prompt": ..., "events": ...})`` starts from an image
    (a path, an ``(H, W, 3)`` uint8 array or a PIL image, scaled to cover the model's frame and
    centre-cropped), a text prompt, or both; with neither, from the model's default prompt. The
    image may also be a callable ``image(prompt, seed)`` that returns each episode's start frame
    (for example a real environment's first observation of that scene and seed).
    Options override the constructor's ``image``/``prompt``/``events`` key by key; a sequence of
    prompts starts each episode from one of them, picked by the episode's seed. ``events``
    is a schedule ``[(step, text), ...]``: the event is in the caption from the chunk of that
    step on (0 = from the start). The first observation is the opening chunk: the image
    repeated, or a chunk generated from the prompt. ``reset(seed=s)`` starts the world of seed
    ``s`` (its sampler noise, its prompt pick, the seed the image callable is given) and seeds
    ``np_random``, from which later unseeded episodes draw theirs, so a seed and an action
    sequence give the same episode on a CPU.

    ## Episode End

    Truncation after ``max_episode_steps`` (100 when made with ``gym.make``). Termination only
    when ``terminate_at_reward`` is set and a step's reward reaches it.

    ## Arguments

    An :class:`yume_gym.env.options.EnvOptions`, or its fields as keyword arguments (what
    ``gym.make`` passes); keywords replace the fields of a given ``options``.

    - ``checkpoint``: None (embedded model), a bundle directory, or a loaded ``WorldModel``.
    - ``device``, ``dtype``: where and in what precision to run (default CPU, float32).
    - ``action_space``, ``observation``, ``frame_size``: see above.
    - ``reward_fn``, ``terminate_at_reward``: the reward hook and its termination threshold.
    - ``task``: a task name or :class:`yume_gym.env.tasks.Task` instead of ``reward_fn``.
    - ``image``, ``prompt``, ``events``: the default start of every episode.
    - ``render_mode``: None or ``"rgb_array"`` (the last frame at the model's resolution).
    - ``return_frames``: False leaves ``info["frames"]`` out (78 MB a step at 704x1280); with
      ``observation="latent"``, no reward and no rendering, the frames are not even decoded.
    - ``server``: a world-server pool from :func:`yume_gym.env.remote.start_servers`: the
      world runs there, batched with the server's other envs (same spaces, seeds and infos).

    ``info`` holds ``frames`` (the whole chunk, ``(T, H, W, 3)`` uint8), ``caption``, ``event``,
    ``action_id``, ``step`` and ``timings``. ``set_event(text)`` changes the event live;
    ``get_state()``/``set_state()`` snapshot and restore the world exactly.

    >>> import gymnasium as gym, yume_gym
    >>> env = gym.make("yume_gym/YumeWorld-v0", frame_size=48)
    >>> obs, info = env.reset(seed=0, options={"prompt": "a quiet village street"})
    >>> obs.shape, obs.dtype
    ((48, 48, 3), dtype('uint8'))
    >>> obs, reward, terminated, truncated, info = env.step(9)  # W: movement 1 * 9 + rotation 0
    >>> info["caption"][:56]
    'First-person perspective. The camera pushes forward (W).'
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 16}

    def __init__(self, options: EnvOptions | None = None, **kwargs: Any) -> None:
        options = EnvOptions.build(options, **kwargs)
        if options.render_mode is not None and options.render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {options.render_mode!r} is not supported; use None or 'rgb_array'")
        self.options = options
        self.core, self.task = build_core(options, 1)
        self.model = self.core.model
        self.render_mode = options.render_mode
        self.metadata = chunk_metadata(self.metadata, self.model.fps, self.model.chunk_frames)
        self.action_space = self.core.single_action_space
        self.observation_space = self.core.single_observation_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            episode_seeds(self.np_random, seed, 1)  # a bad seed is refused before anything changes
        super().reset(seed=seed)
        obs, infos = self.core.reset([0], episode_seeds(self.np_random, seed, 1), options)
        return obs[0], infos[0]

    def step(self, action: Any):
        if not self.core.is_started(0):
            raise RuntimeError("step() was called before reset(); call env.reset() first")
        obs, rewards, terminated, infos = self.core.step([0], [action])
        return obs[0], float(rewards[0]), bool(terminated[0]), False, infos[0]

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; make the env with render_mode='rgb_array'")
            return None
        if not self.core.is_started(0):
            raise RuntimeError("render() was called before reset(); call env.reset() first")
        return self.core.render(0)

    def close(self) -> None:
        self.core.close()

    def set_event(self, text: str | None) -> None:
        """Make ``text`` the active event from the next step on; None clears it."""
        if not self.core.is_started(0):
            raise RuntimeError("set_event() was called before reset(); call env.reset() first")
        self.core.set_event(0, text)

    def get_state(self) -> dict[str, Any]:
        """A snapshot of the episode (world and ``np_random``) for :meth:`set_state`."""
        if not self.core.is_started(0):
            raise RuntimeError("get_state() was called before reset(); call env.reset() first")
        return {"world": self.core.get_state(0), "np_random": self.np_random.bit_generator.state}

    def set_state(self, state: dict[str, Any]) -> np.ndarray:
        """Restore a :meth:`get_state` snapshot; returns the observation at that point."""
        if not isinstance(state, dict) or not isinstance(state.get("world"), WorldSnapshot):
            raise TypeError("state must be a dict returned by get_state()")
        try:  # checked on a scratch generator first, so a bad state changes nothing
            type(self.np_random.bit_generator)().state = state.get("np_random")
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"state['np_random'] is not a state of this env's random generator ({err}); "
                             "pass a dict returned by get_state()") from None
        obs = self.core.set_state(0, state["world"])
        self.np_random.bit_generator.state = state["np_random"]
        return obs

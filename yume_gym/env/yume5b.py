"""``yume_gym/Yume5B-v0``: the world-model env and vector env on a released Yume-5B directory.

Both are :class:`~yume_gym.env.single.YumeWorldEnv` / :class:`~yume_gym.env.vector.YumeWorldVectorEnv`
running the world model :func:`yume_gym.world.released.load_yume5b` builds; only how the model is
chosen differs::

    env = gym.make("yume_gym/Yume5B-v0", checkpoint_dir="Yume-5B-720P")
    env = gym.make("yume_gym/Yume5B-v0", server=pool)  # pool = start_servers(checkpoint=Yume5BOptions(...))
    envs = gym.make_vec("yume_gym/Yume5B-v0", num_envs=4, checkpoint_dir="Yume-5B-720P")
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gymnasium.vector import AutoresetMode

from yume_gym.env.options import EnvOptions
from yume_gym.env.single import YumeWorldEnv
from yume_gym.env.vector import YumeWorldVectorEnv
from yume_gym.world.released import DOWNLOAD_HINT, Yume5BOptions, load_yume5b

ENV_ID = "yume_gym/Yume5B-v0"


class Yume5BEnv(YumeWorldEnv):
    """:class:`~yume_gym.env.single.YumeWorldEnv` on the released Yume-5B (same spaces, rewards,
    starts and episode rules; see its docstring).

    ## Arguments

    - ``yume5b``: a :class:`yume_gym.world.released.Yume5BOptions`, or its fields as keyword
      arguments: ``checkpoint_dir`` (required), ``resolution`` (``"704x1280"`` default or
      ``"544x960"``), ``device`` (default: CUDA when available), ``dtype`` (default bfloat16),
      ``offload_text_encoder``, ``vae_tiling``, ``frame_size_override``, ``vae_config``,
      ``text_config``, ``caption_composition`` ("joined" as released, or "split"), ``speed``,
      ``compile`` and ``quantize`` (the fast-step options, off by default).
    - ``options``: an :class:`yume_gym.env.options.EnvOptions`, or its fields as keyword
      arguments (``action_space``, ``observation``, ``frame_size``, ``reward_fn``, ``task``,
      ``image``, ``prompt``, ``events``, ``render_mode``, ...).

    Each step generates 8 latent frames: 29 video frames of about 1.8 s at 16 fps.
    """

    def __init__(self, options: EnvOptions | None = None, yume5b: Yume5BOptions | None = None,
                 **kwargs: Any) -> None:
        env_options = released_env_options(options, yume5b, kwargs)
        super().__init__(env_options)


class Yume5BVectorEnv(YumeWorldVectorEnv):
    """``num_envs`` worlds of the released Yume-5B in one batched sampler call; arguments as
    :class:`Yume5BEnv` plus those of :class:`~yume_gym.env.vector.YumeWorldVectorEnv`
    (``max_episode_steps``, ``autoreset_mode``)."""

    def __init__(self, num_envs: int = 1, options: EnvOptions | None = None,
                 yume5b: Yume5BOptions | None = None, *, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP, **kwargs: Any) -> None:
        env_options = released_env_options(options, yume5b, kwargs)
        super().__init__(num_envs, env_options, max_episode_steps=max_episode_steps,
                         autoreset_mode=autoreset_mode)


def released_env_options(options: EnvOptions | None, yume5b: Yume5BOptions | None,
                         kwargs: dict[str, Any]) -> EnvOptions:
    """Env options whose checkpoint is the shared Yume-5B model: ``kwargs`` are split between
    :class:`Yume5BOptions` (the loader's fields, ``device`` and ``dtype`` included) and
    :class:`EnvOptions`; a clear error for a missing directory."""
    if "checkpoint" in kwargs:
        raise TypeError(f"{ENV_ID} takes checkpoint_dir=DIR, not checkpoint= (the bundle argument of yume_gym/YumeWorld-v0)")
    loader_fields = {f.name for f in dataclasses.fields(Yume5BOptions)}
    if kwargs.get("server") is not None or (options is not None and options.server is not None):
        if yume5b is not None or loader_fields & set(kwargs):
            raise TypeError(f"{ENV_ID} with server= runs the server's model: pass checkpoint_dir= and the loader's "
                            "options to start_servers(checkpoint=Yume5BOptions(...)), not to the env")
        return EnvOptions.build(options, **kwargs)
    loader = Yume5BOptions.build(yume5b, **{k: v for k, v in kwargs.items() if k in loader_fields})
    if loader.checkpoint_dir is None:
        raise ValueError(f"{ENV_ID} needs checkpoint_dir=DIR: {DOWNLOAD_HINT} (check it with `yume-gym doctor DIR`)")
    env_kwargs = {k: v for k, v in kwargs.items() if k not in loader_fields}
    return EnvOptions.build(options, **env_kwargs, checkpoint=load_yume5b(loader))

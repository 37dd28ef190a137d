"""``yume_gym/Yume5B-v0``: the world-model env and vector env on a released Yume-5B directory.

Both are :class:`~yume_gym.env.YumeWorldEnv` / :class:`~yume_gym.vector_env.YumeWorldVectorEnv`
running the world model :func:`yume_gym.yume5b.load_yume5b` builds; only how the model is
chosen differs::

    env = gym.make("yume_gym/Yume5B-v0", checkpoint_dir="Yume-5B-720P")
    envs = gym.make_vec("yume_gym/Yume5B-v0", num_envs=4, checkpoint_dir="Yume-5B-720P")
"""

from __future__ import annotations

import os
from typing import Any

import torch

from yume_gym.env import YumeWorldEnv
from yume_gym.vector_env import YumeWorldVectorEnv
from yume_gym.world_model import WorldModel
from yume_gym.yume5b import DEFAULT_RESOLUTION, DOWNLOAD_HINT, load_yume5b

ENV_ID = "yume_gym/Yume5B-v0"


class Yume5BEnv(YumeWorldEnv):
    """:class:`~yume_gym.env.YumeWorldEnv` on the released Yume-5B (same spaces, rewards,
    starts and episode rules; see its docstring).

    ## Arguments

    - ``checkpoint_dir`` (required): the Yume-5B-720P directory (check it with
      ``yume-gym doctor DIR``).
    - ``resolution``: ``"704x1280"`` (default) or ``"544x960"``.
    - ``device`` (default: CUDA when available), ``dtype`` (default bfloat16),
      ``offload_text_encoder``, ``vae_tiling``, ``frame_size_override``, ``vae_config``,
      ``text_config``: as :func:`yume_gym.yume5b.load_yume5b`.
    - every other keyword argument of ``YumeWorldEnv`` (``action_space``, ``observation``,
      ``frame_size``, ``reward_fn``, ``terminate_at_reward``, ``image``, ``prompt``,
      ``events``, ``render_mode``).

    Each step generates 8 latent frames: 29 video frames of about 1.8 s at 16 fps.
    """

    def __init__(
        self,
        checkpoint_dir: str | os.PathLike | None = None,
        resolution: str = DEFAULT_RESOLUTION,
        device: torch.device | str | None = None,
        dtype: torch.dtype | str = torch.bfloat16,
        offload_text_encoder: bool = False,
        vae_tiling: bool = False,
        frame_size_override: tuple[int, int] | None = None,
        vae_config: dict[str, Any] | None = None,
        text_config: Any = None,
        **env_kwargs: Any,
    ) -> None:
        model = load_from_arguments(checkpoint_dir, resolution, device, dtype, offload_text_encoder,
                                    vae_tiling, frame_size_override, vae_config, text_config, env_kwargs)
        super().__init__(checkpoint=model, **env_kwargs)


class Yume5BVectorEnv(YumeWorldVectorEnv):
    """``num_envs`` worlds of the released Yume-5B in one batched sampler call; arguments as
    :class:`Yume5BEnv` plus those of :class:`~yume_gym.vector_env.YumeWorldVectorEnv`
    (``max_episode_steps``, ``autoreset_mode``)."""

    def __init__(
        self,
        num_envs: int = 1,
        checkpoint_dir: str | os.PathLike | None = None,
        resolution: str = DEFAULT_RESOLUTION,
        device: torch.device | str | None = None,
        dtype: torch.dtype | str = torch.bfloat16,
        offload_text_encoder: bool = False,
        vae_tiling: bool = False,
        frame_size_override: tuple[int, int] | None = None,
        vae_config: dict[str, Any] | None = None,
        text_config: Any = None,
        **env_kwargs: Any,
    ) -> None:
        model = load_from_arguments(checkpoint_dir, resolution, device, dtype, offload_text_encoder,
                                    vae_tiling, frame_size_override, vae_config, text_config, env_kwargs)
        super().__init__(num_envs=num_envs, checkpoint=model, **env_kwargs)


def load_from_arguments(checkpoint_dir: str | os.PathLike | None, resolution: str,
                        device: torch.device | str | None, dtype: torch.dtype | str,
                        offload_text_encoder: bool, vae_tiling: bool,
                        frame_size_override: tuple[int, int] | None, vae_config: dict[str, Any] | None,
                        text_config: Any, env_kwargs: dict[str, Any]) -> WorldModel:
    """The shared world model for the env arguments; a clear error for a missing directory."""
    if "checkpoint" in env_kwargs:
        raise TypeError(f"{ENV_ID} takes checkpoint_dir=DIR, not checkpoint= (the bundle argument of yume_gym/YumeWorld-v0)")
    if checkpoint_dir is None:
        raise ValueError(f"{ENV_ID} needs checkpoint_dir=DIR: {DOWNLOAD_HINT} (check it with `yume-gym doctor DIR`)")
    return load_yume5b(checkpoint_dir, resolution=resolution, device=device, dtype=dtype,
                       offload_text_encoder=offload_text_encoder, vae_tiling=vae_tiling,
                       frame_size_override=frame_size_override, vae_config=vae_config,
                       text_config=text_config)

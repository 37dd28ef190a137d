"""yume-gym: the Yume-1.5 generative world model as a Gymnasium environment.

``import yume_gym`` registers the ``yume_gym/*`` env ids and exposes the generator API.

>>> import gymnasium as gym, yume_gym
>>> "yume_gym/YumeWorld-v0" in gym.registry
True
"""

from yume_gym.model import build_generator, load_generator
from yume_gym.registration import register_envs

__version__ = "0.1.0"
__all__ = ["build_generator", "load_generator", "register_envs"]

register_envs()

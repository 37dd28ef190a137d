"""yume-gym: the Yume-1.5 generative world model as a Gymnasium environment.

>>> import gymnasium as gym, yume_gym
>>> "yume_gym/ProcWorld-v0" in gym.registry
True
"""

from yume_gym.registration import register_envs

__version__ = "0.1.0"

register_envs()

"""The generator network (Wan2.2 DiT with TSCM and the channel branch), its presets and checkpoints.

>>> from yume_gym.model import build_generator
>>> model = build_generator("yume-5b", device="meta")
>>> tuple(model.head.head.weight.shape)
(192, 3072)
"""

from yume_gym.model.config import PRESETS, GeneratorConfig
from yume_gym.model.dit import YumeDiT
from yume_gym.model.generator import build_generator, load_generator, save_generator

__all__ = [
    "GeneratorConfig",
    "PRESETS",
    "YumeDiT",
    "build_generator",
    "load_generator",
    "save_generator",
]

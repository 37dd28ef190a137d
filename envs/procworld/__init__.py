"""procworld: the procedural first-person 3D world that is the ground truth of yume-gym.

A deterministic numpy renderer of a textured ground, a cloudy sky and pillars, boxes, trees and
walls with perspective, sunlight and fog; scenes described by captions; text events (rain,
snow, night, fog, sunset, storm, objects appearing); the same 81 actions as the world-model
env. It is the data source of the embedded model, the ground truth that measures it, and the
real world where agents trained in the generated world are scored.

- :class:`procworld.env.ProcWorldEnv` (``yume_gym/ProcWorld-v0``): the Gymnasium env;
- :class:`procworld.sim.ProcWorld`: the simulator under it;
- :func:`procworld.captions.scene_caption` / :func:`procworld.captions.parse_caption`:
  scene <-> text;
- :func:`procworld.events.parse_event`, :data:`procworld.events.EVENT_EXAMPLES`: the event
  vocabulary;
- :mod:`procworld.dataset` (``yume-gym data procworld``) and :mod:`procworld.bench`
  (``yume-gym bench procworld``).
"""

from procworld.captions import parse_caption, scene_caption
from procworld.env import ProcWorldEnv
from procworld.events import EVENT_EXAMPLES, Event, parse_event
from procworld.scene import Scene, SceneSpec, build_scene, random_spec
from procworld.sim import ProcWorld

__all__ = [
    "EVENT_EXAMPLES", "Event", "ProcWorld", "ProcWorldEnv", "Scene", "SceneSpec",
    "build_scene", "parse_caption", "parse_event", "random_spec", "scene_caption",
]  # fmt: skip

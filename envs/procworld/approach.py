"""A walker that heads for objects: it turns toward the object in view nearest the view
direction and walks up to it, then picks another.

The dataset's random walker rarely comes close to anything (a red pillar fills the centre of
the view in about 0.5% of its frames), so a world model trained only on its clips has hardly
seen what a reach task ends on. Clips walked by an :class:`Approacher` show objects growing
from far away to filling the view, and the turns that centre them.
"""

from __future__ import annotations

import math

from procworld.camera import PITCH_LIMIT
from procworld.sim import ProcWorld
from yume_gym.actions import MOVEMENT_INDEX, ROTATION_INDEX, action_id

REACHED_GAP = 0.8  # metres between the camera and an object's surface that count as arrived
SEARCH_RANGE = 10.0  # metres: farther objects are not headed for
CENTRED = math.radians(4.0)  # bearings within this are straight ahead
TURN_ONLY = math.radians(20.0)  # beyond this the walker turns on the spot before walking


class Approacher:
    """Plans the next held action of a walk from object to object (see the module doc).

    :meth:`plan` returns ``(action id, frames to hold it)``, with ``None`` frames meaning "a
    walking hold of the caller's usual length", or ``None`` when there is nothing to head for
    (no object in view and range, just arrived somewhere, or the camera is tilted): the caller's
    own walker takes that segment, which also turns the camera toward new objects.
    """

    def __init__(self) -> None:
        self.visited: set[int] = set()

    def plan(self, world: ProcWorld) -> tuple[int, int | None] | None:
        if abs(float(world.pose[3])) > 0.4 * PITCH_LIMIT:
            return None
        states = world.object_states()
        for obj in states:
            if obj["distance"] - obj["radius"] < REACHED_GAP and obj["index"] not in self.visited:
                self.visited.add(obj["index"])
                return None
        candidates = [o for o in states if o["in_view"] and o["index"] not in self.visited
                      and o["distance"] - o["radius"] < SEARCH_RANGE]  # fmt: skip
        if not candidates:
            return None
        target = min(candidates, key=lambda o: abs(o["bearing"]))
        bearing = target["bearing"]
        if abs(bearing) <= CENTRED:
            return action_id(MOVEMENT_INDEX["W"], ROTATION_INDEX["none"]), None
        rotation = ROTATION_INDEX["→" if bearing > 0 else "←"]
        movement = MOVEMENT_INDEX["none" if abs(bearing) > TURN_ONLY else "W"]
        frames = max(1, math.ceil((abs(bearing) - CENTRED) / world.motion.yaw_rate))
        return action_id(movement, rotation), frames

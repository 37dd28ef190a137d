"""The approach walker: turns toward the object in view, walks up to it, then lets the random walker go on."""

import dataclasses
import math

import numpy as np
import pytest
from procworld.approach import Approacher
from procworld.captions import parse_caption
from procworld.dataset import DataConfig, make_clip
from procworld.scene import Group, SceneSpec, build_scene, make_object
from procworld.sim import ProcWorld

from yume_gym.actions import MOVEMENT_INDEX, ROTATION_INDEX, SpeedSuffix, action_id


def one_pillar_world(bearing_degrees: float, distance: float) -> ProcWorld:
    """A world with a single red pillar ``distance`` m away at ``bearing_degrees`` (positive: right)."""
    spec = SceneSpec("grass", "clear", (Group("red", "pillar"),))
    b = math.radians(bearing_degrees)
    pillar = make_object(np.random.default_rng(0), "red", "pillar", distance * math.sin(b), distance * math.cos(b))
    scene = dataclasses.replace(build_scene(spec, 0), objects=(pillar,))
    return ProcWorld(scene, (16, 16), SpeedSuffix())


def test_an_object_off_to_the_right_is_turned_to_on_the_spot_for_the_frames_the_angle_takes():
    world = one_pillar_world(30.0, 6.0)
    action, frames = Approacher().plan(world)
    assert action == action_id(MOVEMENT_INDEX["none"], ROTATION_INDEX["→"])
    assert frames == math.ceil(math.radians(26.0) / world.motion.yaw_rate)  # 2 degrees a frame: 13
    world.advance([action] * frames)
    assert Approacher().plan(world) == (action_id(MOVEMENT_INDEX["W"], ROTATION_INDEX["none"]), None)


def test_a_slightly_left_object_is_walked_to_while_turning():
    action, frames = Approacher().plan(one_pillar_world(-10.0, 6.0))
    assert action == action_id(MOVEMENT_INDEX["W"], ROTATION_INDEX["←"]) and frames >= 1


def test_arriving_marks_the_object_visited_and_hands_over():
    world = one_pillar_world(0.0, 4.0)
    walker = Approacher()
    for _ in range(60):  # walk until the plan hands over
        planned = walker.plan(world)
        if planned is None:
            break
        world.advance([planned[0]] * (planned[1] or 4))
    else:
        pytest.fail("the walker never arrived")
    gap = min(o["distance"] - o["radius"] for o in world.object_states())
    assert gap < 0.8 and walker.visited == {0}
    assert walker.plan(world) is None  # nothing else to head for


def test_nothing_in_view_hands_over():
    assert Approacher().plan(one_pillar_world(180.0, 6.0)) is None


def test_approach_clips_come_close_to_objects_and_the_other_clips_stay_as_they_were():
    base = DataConfig(clips=12, frames=65, size=16, seed=5, event_share=0.0, align=4)
    mixed = DataConfig(**{**base.__dict__, "approach_share": 0.5})
    walkers = [make_clip(i, mixed)["record"]["walker"] for i in range(12)]
    assert 2 <= walkers.count("approach") <= 10
    for i, walker in enumerate(walkers):
        if walker == "random":  # drawn from a stream of its own: the clip is the one without approach walks
            assert np.array_equal(make_clip(i, mixed)["frames"], make_clip(i, base)["frames"])

    def close_share(config: DataConfig) -> float:
        """Share of frames with an object within 1.5 m straight ahead (+-11 degrees)."""
        close = []
        for i in range(8):
            clip = make_clip(i, config)
            scene = build_scene(parse_caption(clip["record"]["scene"]), clip["record"]["scene_seed"])
            world = ProcWorld(scene, (16, 16), SpeedSuffix(*config.speed))
            for action in clip["actions"]:
                world.advance([int(action)])
                close.append(any(o["distance"] - o["radius"] < 1.5 and abs(o["bearing"]) < 0.2
                                 for o in world.object_states()))
        return float(np.mean(close))

    always = DataConfig(**{**base.__dict__, "approach_share": 1.0})
    assert close_share(always) > 2 * close_share(base) + 0.05  # measured: 0.23 against 0.08


def test_the_share_is_checked():
    with pytest.raises(ValueError, match="approach_share"):
        DataConfig(approach_share=1.5)


def test_approach_random_hands_holds_of_the_walk_to_the_random_walker():
    base = DataConfig(clips=8, frames=65, size=16, seed=5, event_share=0.0, align=4, hold=(4, 4),
                      approach_share=1.0)  # fmt: skip
    mixed = dataclasses.replace(base, approach_random=0.5)
    planned = {action_id(MOVEMENT_INDEX[m], ROTATION_INDEX[r]) for m in ("W", "none") for r in ("none", "←", "→")}

    def off_plan_share(config: DataConfig) -> float:
        """Share of holds whose action the approach walker never plans (strafes, backs, tilts...)."""
        segments = [s for i in range(8) for s in make_clip(i, config)["record"]["segments"]]
        return float(np.mean([s["action_id"] not in planned for s in segments]))

    assert off_plan_share(mixed) > off_plan_share(base) + 0.1
    no_walk = dataclasses.replace(base, approach_share=0.0)
    no_walk_random = dataclasses.replace(no_walk, approach_random=0.5)
    assert make_clip(0, no_walk_random)["record"] == make_clip(0, no_walk)["record"]  # no walk, nothing to hand over
    with pytest.raises(ValueError, match="approach_random"):
        DataConfig(approach_random=-0.1)

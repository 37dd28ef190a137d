import re

import numpy as np
import pytest
from gymnasium import spaces

from yume_gym import actions as A


def test_index_orders_are_the_public_contract():
    assert [m.keys for m in A.MOVEMENTS] == ["none", "W", "A", "S", "D", "W+A", "W+D", "S+A", "S+D"]
    assert [r.arrows for r in A.ROTATIONS] == ["none", "→", "←", "↑", "↓", "↑→", "↑←", "↓→", "↓←"]
    assert A.action_id(1, 2) == 11
    m, r = A.split_action(11)
    assert (m.keys, r.arrows) == ("W", "←")


def test_spaces():
    assert A.make_action_space("discrete") == spaces.Discrete(81)
    assert A.make_action_space("multi_discrete") == spaces.MultiDiscrete([9, 9])
    assert A.make_action_space("compact") == spaces.Discrete(9)
    with pytest.raises(ValueError, match="unknown action space"):
        A.make_action_space("continuous")


def test_compact_order():
    labels = [A.describe_action(A.to_action_id(i, "compact")) for i in range(9)]
    assert labels == ["none", "W", "S", "A", "D", "←", "→", "↑", "↓"]


def test_to_action_id_accepts_numpy_and_rejects_bad_values():
    assert A.to_action_id(np.int64(80)) == 80
    assert A.to_action_id(np.array([2, 3]), "multi_discrete") == 21
    for bad in (81, -1, 1.5, "W", True, None):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            A.to_action_id(bad)
    with pytest.raises(ValueError, match="two integers"):
        A.to_action_id([1, 2, 3], "multi_discrete")


def test_released_caption_sentences():
    cap = A.caption_for_action(A.action_id(A.MOVEMENT_INDEX["W+A"], A.ROTATION_INDEX["↑→"]))
    assert cap.startswith("First-person perspective. The camera pushes forward and moves to the left (W+A).")
    assert "The camera tilts up and pans to the right (↑→)." in cap
    assert cap.endswith("Actual distance moved:4 at 100 meters per second. "
                        "Angular change rate (turn speed):2. View rotation speed:2.")
    still = A.caption_for_action(0, speed=None)
    assert still == ("First-person perspective. The camera's movement direction remains stationary (·). "
                     "The rotation direction of the camera remains stationary (·).")
    assert len({A.caption_for_action(i) for i in range(81)}) == 81


def test_keys_to_action():
    assert A.action_from_keys({"w", "LEFT"}) == A.action_id(1, 2)
    assert A.action_from_keys({"W", "S"}) == 0  # opposite keys cancel
    with pytest.raises(ValueError, match="Q"):
        A.action_from_keys({"Q"})

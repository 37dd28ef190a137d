"""The reference agents: intents in every action space, the scripted reacher and explorer, random play."""

import numpy as np
import pytest

from agents.baselines import (
    RandomAgent,
    ScriptedExplorer,
    ScriptedReacher,
    intent_actions,
    make_baseline,
)
from yume_gym.actions import make_action_space, to_action_id

RED = (205, 40, 35)


def stacked(frame, stack=2):
    """One batched observation (1, H, W, 3 * stack) of ``frame`` repeated."""
    return np.concatenate([frame] * stack, axis=-1)[None]


def field(red_columns=None):
    frame = np.full((32, 32, 3), (90, 150, 60), np.uint8)
    if red_columns is not None:
        frame[4:28, red_columns] = RED
    return frame


def test_intents_are_the_same_moves_in_every_action_space():
    ids = {kind: {name: to_action_id(a, kind) for name, a in intent_actions(kind).items()}
           for kind in ("discrete", "multi_discrete", "compact")}  # fmt: skip
    assert ids["discrete"] == ids["multi_discrete"] == ids["compact"] == {"forward": 9, "left": 2, "right": 1}
    with pytest.raises(ValueError, match="'joystick'"):
        intent_actions("joystick")


def test_scripted_reacher_turns_to_the_target_then_walks():
    agent = ScriptedReacher("red", "compact", search_turns=2, search_walk=1)
    act = intent_actions("compact")
    start = np.ones(1, bool)
    assert agent.predict(stacked(field(slice(26, 30))), episode_start=start)[0][0] == act["right"]
    assert agent.predict(stacked(field(slice(1, 5))))[0][0] == act["left"]
    assert agent.predict(stacked(field(slice(14, 18))))[0][0] == act["forward"]
    searching = [agent.predict(stacked(field()))[0][0] for _ in range(4)]
    assert searching == [act["right"], act["right"], act["forward"], act["right"]]
    assert agent.predict(stacked(field()), episode_start=start)[0][0] == act["right"]  # a new search


def test_scripted_explorer_walks_and_turns_away_when_blocked():
    agent = ScriptedExplorer("discrete", turn_steps=2)
    a, b = field(), field(slice(3, 9))
    moving = np.concatenate([a, b], axis=-1)[None]
    assert agent.predict(moving, episode_start=np.ones(1, bool))[0][0] == 9
    assert agent.predict(np.concatenate([b, a], axis=-1)[None])[0][0] == 9
    views = [a, b, a]  # blocked (the view repeats), then turning changes the view again
    assert [agent.predict(stacked(v))[0][0] for v in views] == [1, 1, 9]


def test_random_agent_is_reproducible_and_batched():
    space = make_action_space("compact")
    first = RandomAgent(space, seed=3).predict(np.zeros((5, 8, 8, 12), np.uint8))[0]
    again = RandomAgent(make_action_space("compact"), seed=3).predict(np.zeros((5, 8, 8, 12), np.uint8))[0]
    assert first.shape == (5,) and np.array_equal(first, again)
    multi = RandomAgent(make_action_space("multi_discrete"), seed=0).predict(np.zeros((2, 8, 8, 3), np.uint8))[0]
    assert multi.shape == (2, 2)


def test_make_baseline_picks_the_task_script():
    assert isinstance(make_baseline("scripted", "reach-yellow"), ScriptedReacher)
    assert isinstance(make_baseline("scripted", "explore"), ScriptedExplorer)
    assert isinstance(make_baseline("random", "explore", "discrete"), RandomAgent)
    with pytest.raises(ValueError, match="'greedy'"):
        make_baseline("greedy", "explore")
    with pytest.raises(ValueError, match="not"):
        ScriptedReacher("red").predict(np.zeros((1, 8, 8, 4), np.uint8))

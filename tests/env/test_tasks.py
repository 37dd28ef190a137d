"""Tasks: rewards on crafted frames and on ProcWorld states, the true-state judges, and task= on every env."""

import math

import gymnasium as gym
import numpy as np
import pytest
from procworld.captions import parse_caption
from procworld.env import ProcWorldEnv

import yume_gym  # noqa: F401
from yume_gym.env.single import YumeWorldEnv
from yume_gym.env.rewards import PALETTE, Novelty
from yume_gym.env.tasks import (
    EXPLORE_AREA,
    REACH_BONUS,
    REACH_DISTANCE,
    TASK_NAMES,
    CoverageJudge,
    ReachJudge,
    ReachReward,
    make_task,
)
from yume_gym.env.vector import YumeWorldVectorEnv
from yume_gym.world.bundle import build_world_model

SIZE = 32


@pytest.fixture(scope="module")
def model():
    return build_world_model(frame_size=SIZE, live_head=True)


def view_with_square(side, colour=PALETTE["red"], size=64, left=None):
    frames = np.full((2, size, size, 3), (90, 150, 60), np.uint8)  # (T, H, W, 3) grass green
    top = (size - side) // 2
    left = top if left is None else left
    frames[-1, top : top + side, left : left + side] = colour
    return frames


def test_every_task_has_disjoint_train_and_held_out_scenes_in_procworld_grammar():
    for name in TASK_NAMES:
        task = make_task(name)
        assert task.name == name and task.train_scenes and task.eval_scenes
        assert not set(task.train_scenes) & set(task.eval_scenes)
        for caption in task.train_scenes + task.eval_scenes:
            groups = [(g.colour, g.kind) for g in parse_caption(caption).groups]
            if task.target_hue is not None:
                assert (task.target_hue, "pillar") in groups
                assert sum(colour == task.target_hue for colour, _ in groups) == 1  # no look-alike distractors
    assert make_task(make_task("explore")).name == "explore"
    with pytest.raises(ValueError, match="'reach-green'"):
        make_task("reach-green")


def test_reach_reward_on_crafted_frames():
    reward = ReachReward("red")
    reward.reset(view_with_square(4))
    approach = [reward(view_with_square(side), {}) for side in (8, 16, 24)]
    assert all(0 < r < 1 for r in approach)  # growth of the centred share pays
    assert reward(view_with_square(24), {}) == pytest.approx(0.0)  # standing still earns nothing
    assert reward(view_with_square(24, left=0), {}) < 0  # turning away costs
    reached = reward(view_with_square(48), {})
    assert reached >= REACH_BONUS - 1 >= make_task("reach-red").terminate_at_reward
    blue = ReachReward("red")
    blue.reset(view_with_square(4))
    assert blue(view_with_square(48, colour=PALETTE["blue"]), {}) < 0  # another hue is not the target


def test_reach_judge_and_coverage_judge_on_crafted_infos():
    judge = ReachJudge("red")
    far = {"objects": [{"colour": "red", "kind": "pillar", "distance": 5.0, "radius": 0.3},
                       {"colour": "red", "kind": "box", "distance": 0.5, "radius": 0.3}]}  # fmt: skip
    assert judge.reset(far) == {"task_success": False, "task_score": pytest.approx(4.7)}
    near = {"objects": [{"colour": "red", "kind": "pillar", "distance": REACH_DISTANCE + 0.3, "radius": 0.3}]}
    assert judge.update(near)["task_success"]
    assert judge.update(far)["task_success"]  # once reached, the episode has succeeded
    assert judge.update({"objects": []})["task_score"] == math.inf
    coverage = CoverageJudge(area=3.0)
    assert coverage.reset({"poses": np.array([[0.2, 0.3, 0, 0], [0.7, 0.9, 0, 0]])})["task_score"] == 1.0
    step = coverage.update({"poses": np.array([[1.2, 0.3, 0, 0], [-0.5, 2.5, 0, 0]])})
    assert step == {"task_success": True, "task_score": 3.0}
    with pytest.raises(KeyError, match="poses"):
        coverage.update({})


def stand_before_first_object(env, gap, bearing=0.0):
    """Move the camera ``gap`` metres from the surface of the scene's first object, facing it, and step."""
    world = env.unwrapped.world
    target = world.objects[0]
    distance = gap + target.radius
    world.pose = np.array([target.x - distance * math.sin(bearing), target.z - distance * math.cos(bearing),
                           bearing, 0.0])  # fmt: skip
    return env.step(0)


@pytest.mark.parametrize("sky", ["a clear sky", "an overcast sky", "a dusk sky", "a night sky"])
def test_reach_red_in_procworld_rewards_and_judges_the_true_state(sky):
    env = ProcWorldEnv(size=64, frames_per_step=2, task="reach-red",
                       prompt=f"a sandy desert with red pillars and purple pillars under {sky}")  # fmt: skip
    _, info = env.reset(seed=3)
    assert info["task_success"] is False and info["task_score"] > REACH_DISTANCE
    _, far_reward, terminated, _, info = stand_before_first_object(env, gap=3.0)
    assert far_reward < 1 and not terminated and not info["task_success"]
    _, reward, terminated, _, info = stand_before_first_object(env, gap=0.6)
    assert reward >= REACH_BONUS - 1 and terminated  # the frames show it reached ...
    assert info["task_success"] and info["task_score"] == pytest.approx(0.6, abs=0.05)  # ... and it truly is


def test_reach_reward_ignores_a_near_pillar_of_another_colour():
    env = ProcWorldEnv(size=64, frames_per_step=2, task="reach-red",
                       prompt="a grassy meadow with purple pillars and red pillars under a clear sky")  # fmt: skip
    env.reset(seed=3)
    _, reward, terminated, _, info = stand_before_first_object(env, gap=0.6)  # the first object is purple
    assert env.unwrapped.world.objects[0].colour == "purple"
    assert reward < 1 and not terminated and not info["task_success"]


def test_explore_in_procworld_scores_covered_ground():
    env = gym.make("yume_gym/ProcWorld-v0", task="explore", size=32, frames_per_step=5, action_space="compact")
    _, info = env.reset(seed=0, options={"prompt": make_task("explore").eval_scenes[0]})
    assert info["task_score"] == 1.0 and not info["task_success"]
    rewards = []
    for _ in range(5):
        _, reward, terminated, _, info = env.step(6)  # turn right on the spot: new views, no new ground
        rewards.append(reward)
    assert min(rewards) > 0 and info["task_score"] == 1.0 and not terminated
    for _ in range(30):  # walk 15 m
        *_, info = env.step(1)
    assert info["task_score"] >= EXPLORE_AREA and info["task_success"]


def test_explore_reward_pays_a_spin_on_the_spot_far_less_than_whole_view_novelty_does():
    """On ProcWorld states: a turn shifts the view, so the task's novelty forgives it; a walk keeps its pay."""
    totals = {}
    for name, action in (("spin", 6), ("walk", 1)):  # turn right / walk forward, 20 steps each
        env = gym.make("yume_gym/ProcWorld-v0", task="explore", size=32, frames_per_step=4, action_space="compact")
        _, info = env.reset(seed=0, options={"prompt": make_task("explore").eval_scenes[0]})
        whole_view = Novelty(max_shift=(0, 0))
        whole_view.reset(info["frames"])
        task_reward = plain = 0.0
        for _ in range(20):
            _, reward, _, _, info = env.step(action)
            task_reward += reward
            plain += whole_view(info["frames"], info)
        totals[name] = (task_reward, plain, info["task_score"])
    (spin, spin_plain, spin_area), (walk, walk_plain, walk_area) = totals["spin"], totals["walk"]
    assert spin_area == 1.0 < walk_area
    assert spin_plain > 2 * walk_plain  # whole-view novelty pays spinning most
    assert spin < 0.5 * spin_plain and walk > 0.9 * walk_plain and walk > spin


def test_procworld_task_starts_from_training_scenes_and_resets_the_reward():
    task = make_task("reach-red")
    env = ProcWorldEnv(size=32, frames_per_step=2, task="reach-red")
    scenes = {env.reset(seed=s)[1]["scene"] for s in range(12)}
    assert scenes <= set(task.train_scenes) and len(scenes) > 3
    _, info = env.reset(seed=0, options={"prompt": task.eval_scenes[0]})
    assert info["scene"] == task.eval_scenes[0]
    assert env.reward_fn.previous == pytest.approx(env.reward_fn.share(info["frames"], {}))
    with pytest.raises(ValueError, match="either task or reward_fn"):
        ProcWorldEnv(task="explore", reward_fn=lambda frames, info: 0.0)
    with pytest.raises(TypeError, match="sequence of strings"):
        ProcWorldEnv(prompt=["a snowy field with red pillars under a dusk sky", 3])


def test_yume_world_takes_a_task_by_name(model):
    task = make_task("reach-red")
    env = gym.make("yume_gym/YumeWorld-v0", task="reach-red", checkpoint=model, max_episode_steps=3)
    assert env.unwrapped.task == task and env.unwrapped.core.terminate_at_reward == task.terminate_at_reward
    prompts = set()
    for seed in range(4):
        env.reset(seed=seed)
        prompts.add(env.unwrapped.get_state()["world"].prompt)
        _, reward, *_ = env.step(1)
        assert isinstance(reward, float) and -1 <= reward < 1  # a random model shows no red pillar up close
    assert prompts <= set(task.train_scenes) and len(prompts) > 1
    env.reset(seed=0, options={"prompt": task.eval_scenes[0]})
    assert env.unwrapped.get_state()["world"].prompt == task.eval_scenes[0]
    with pytest.raises(ValueError, match="unknown task"):
        YumeWorldEnv(checkpoint=model, task="reach-the-moon")


def test_vector_env_rows_have_their_own_task_reward(model):
    envs = YumeWorldVectorEnv(2, checkpoint=model, task="explore", max_episode_steps=2)
    envs.reset(seed=0)
    rewards = envs.step([1, 1])[1]
    assert envs.core._row_rewards[0] is not envs.core._row_rewards[1]
    assert np.all((rewards > 0) & (rewards <= 1))

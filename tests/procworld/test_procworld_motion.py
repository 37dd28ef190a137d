"""The procedural world's camera semantics, measured on the rendered frames."""

import math

import numpy as np
import pytest
from procworld.camera import PITCH_LIMIT
from procworld.env import ProcWorldEnv

from yume_gym.actions import SpeedSuffix, action_from_keys

PLAZA = "a stone plaza with red pillars under a clear sky"


def make_env(**kwargs) -> ProcWorldEnv:
    return ProcWorldEnv(**{"size": 64, "frames_per_step": 8, **kwargs})


def red_mask(frame: np.ndarray) -> np.ndarray:
    r, g, b = (frame[..., c].astype(int) for c in range(3))
    return (r > 90) & (r > 1.6 * g) & (r > 1.6 * b)


def content_shift(before: np.ndarray, after: np.ndarray, axis: int, limit: int = 24) -> int:
    """The shift s (pixels) that best maps ``before`` onto ``after``: after[i] ~ before[i - s]."""
    a, b = before.astype(float).mean(axis=2), after.astype(float).mean(axis=2)
    errors = {}
    for s in range(-limit, limit + 1):
        if s >= 0:
            x, y = np.take(a, range(a.shape[axis] - s), axis=axis), np.take(b, range(s, b.shape[axis]), axis=axis)
        else:
            x, y = np.take(a, range(-s, a.shape[axis]), axis=axis), np.take(b, range(b.shape[axis] + s), axis=axis)
        errors[s] = np.abs(x - y).mean()
    return min(errors, key=errors.get)


def test_forward_makes_the_object_ahead_grow():
    env = make_env()
    obs, info = env.reset(seed=3, options={"prompt": PLAZA})
    ahead = info["objects"][0]
    assert abs(ahead["bearing"]) < 0.3 and 4 < ahead["distance"] < 9
    sizes, distances = [red_mask(obs).sum()], [ahead["distance"]]
    for _ in range(4):
        obs, _, _, _, info = env.step(action_from_keys({"W"}))
        sizes.append(red_mask(obs).sum())
        distances.append(info["objects"][0]["distance"])
    assert np.all(np.diff(sizes) > 0), sizes
    assert sizes[-1] > 1.8 * sizes[0]
    assert np.allclose(np.diff(distances), -0.8, atol=0.15), distances  # 8 frames x 0.1 m


def test_backward_makes_it_shrink():
    env = make_env()
    obs, _ = env.reset(seed=3, options={"prompt": PLAZA})
    after = env.step(action_from_keys({"S"}))[0]
    assert red_mask(after).sum() < red_mask(obs).sum()


@pytest.mark.parametrize("keys, direction", [({"LEFT"}, 1), ({"RIGHT"}, -1)])
def test_pans_move_the_content_sideways(keys, direction):
    env = make_env(size=96)
    obs, info = env.reset(seed=3, options={"prompt": PLAZA})
    after, _, _, _, info = env.step(action_from_keys(keys))
    shift = content_shift(obs, after, axis=1)
    expected = 96 / 2 / math.tan(math.radians(37.5)) * math.tan(math.radians(16))  # 8 frames x 2 degrees
    assert direction * shift > 0.6 * expected, shift
    assert np.sign(info["pose"][2]) == -direction  # the yaw turns the other way (left is negative)
    assert np.allclose(info["pose"][:2], 0.0)


@pytest.mark.parametrize("keys, direction", [({"UP"}, 1), ({"DOWN"}, -1)])
def test_tilts_move_the_horizon_vertically(keys, direction):
    """Tilting up moves the horizon, and everything with it, down the image."""
    env = make_env(size=96)
    obs, _ = env.reset(seed=3, options={"prompt": PLAZA})
    after, _, _, _, info = env.step(action_from_keys(keys))
    assert direction * content_shift(obs, after, axis=0) >= 8
    assert np.sign(info["pose"][3]) == direction


def test_pitch_stops_at_its_limit():
    env = make_env()
    env.reset(seed=0)
    for _ in range(6):
        info = env.step(action_from_keys({"UP"}))[4]
    assert info["pose"][3] == pytest.approx(PITCH_LIMIT)


@pytest.mark.parametrize("keys, sign", [({"A"}, 1), ({"D"}, -1)])
def test_strafes_slide_the_view_without_turning(keys, sign):
    """A moves the camera left, so the object ahead slides right in the image; D the other way."""
    env = make_env()
    obs, _ = env.reset(seed=3, options={"prompt": PLAZA})
    before_col = np.nonzero(red_mask(obs))[1].mean()
    after, _, _, _, info = env.step(action_from_keys(keys))
    assert sign * (np.nonzero(red_mask(after))[1].mean() - before_col) > 2
    x, z, yaw, pitch = info["pose"]
    assert x == pytest.approx(-sign * 0.8) and z == pytest.approx(0.0, abs=1e-9)
    assert yaw == 0.0 and pitch == 0.0


def test_motion_is_smooth_per_frame():
    env = make_env()
    env.reset(seed=1)
    info = env.step(action_from_keys({"W", "LEFT"}))[4]
    steps = np.diff(np.vstack([np.zeros(4), info["poses"]]), axis=0)  # (8, 4)
    assert np.allclose(np.hypot(steps[:, 0], steps[:, 1]), 0.1)
    assert np.allclose(steps[:, 2], -math.radians(2))


def test_speed_suffix_sets_the_speeds():
    fast = make_env(speed=SpeedSuffix(distance=8.0, turn_speed=4.0, view_speed=1.0))
    fast.reset(seed=1)
    assert fast.step(action_from_keys({"W"}))[4]["pose"][1] == pytest.approx(1.6)
    assert fast.step(action_from_keys({"RIGHT"}))[4]["pose"][2] == pytest.approx(math.radians(32))
    assert fast.step(action_from_keys({"UP"}))[4]["pose"][3] == pytest.approx(math.radians(8))
    with pytest.raises(ValueError, match="speed.distance"):
        make_env(speed=SpeedSuffix(distance=-1.0)).reset(seed=0)


def test_the_camera_does_not_walk_through_objects():
    env = make_env()
    _, info = env.reset(seed=3, options={"prompt": PLAZA})
    pillar = info["objects"][0]
    for _ in range(15):
        info = env.step(action_from_keys({"W"}))[4]
    ahead = info["objects"][0]
    assert ahead["index"] == pillar["index"] and ahead["distance"] > ahead["radius"]

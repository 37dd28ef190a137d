import pytest
import torch

from yume_gym.sampling import (
    RELEASED_SCHEDULE,
    TEACHER_SCHEDULE,
    FlowSchedule,
    add_noise,
    flow_matching_loss,
    noise_like,
    sample,
    sample_training_sigmas,
)


def test_released_schedule_timesteps():
    t = RELEASED_SCHEDULE.timesteps()
    assert torch.allclose(t, torch.tensor([1000.0, 954.5454545, 875.0, 700.0], dtype=torch.float64))


def test_sigmas_run_from_one_to_zero_and_decrease():
    for schedule in (RELEASED_SCHEDULE, TEACHER_SCHEDULE, FlowSchedule(steps=1, shift=1.0)):
        sigmas = schedule.sigmas()
        assert sigmas.shape == (schedule.steps + 1,)
        assert sigmas[0] == 1.0 and sigmas[-1] == 0.0
        assert torch.all(sigmas[1:] < sigmas[:-1])


def test_exact_velocity_recovers_data_in_one_step():
    x0 = torch.randn(2, 3, 4)
    noise = torch.randn(2, 3, 4)
    out = sample(lambda x, t: noise - x0, noise, FlowSchedule(steps=1, shift=3.0))
    assert torch.allclose(out, x0, atol=1e-6)


def test_euler_with_exact_straight_flow_is_exact_for_any_schedule():
    x0 = torch.randn(1, 8)
    noise = torch.randn(1, 8)
    out = sample(lambda x, t: noise - x0, noise, RELEASED_SCHEDULE)
    assert torch.allclose(out, x0, atol=1e-5)


def test_sampler_passes_timesteps_per_row():
    seen = []

    def velocity(x, t):
        seen.append(t.clone())
        return torch.zeros_like(x)

    sample(velocity, torch.zeros(3, 2), RELEASED_SCHEDULE)
    assert [round(float(t[0]), 2) for t in seen] == [1000.0, 954.55, 875.0, 700.0]
    assert all(t.shape == (3,) for t in seen)


def test_sampler_rejects_wrong_velocity_shape():
    with pytest.raises(ValueError, match="expected"):
        sample(lambda x, t: x[:, :1], torch.zeros(2, 4))


@pytest.mark.parametrize("kwargs", [{"steps": 0}, {"steps": 2.5}, {"shift": 0.0}])
def test_bad_schedule(kwargs):
    with pytest.raises(ValueError):
        FlowSchedule(**kwargs)


def test_noise_rows_depend_only_on_their_generator():
    a = noise_like((2, 5), [torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)])
    b = noise_like((2, 5), [torch.Generator().manual_seed(7), torch.Generator().manual_seed(2)])
    assert torch.equal(a[1], b[1]) and not torch.equal(a[0], b[0])
    with pytest.raises(ValueError, match="one per row"):
        noise_like((3, 5), [torch.Generator()])


def test_training_sigmas_and_loss():
    g = torch.Generator().manual_seed(0)
    sigmas = sample_training_sigmas(4096, shift=5.0, generator=g)
    assert sigmas.min() > 0 and sigmas.max() < 1
    assert sigmas.median() > 0.5  # the shift moves mass towards noise
    x0, noise = torch.randn(4, 3), torch.randn(4, 3)
    s = torch.full((4,), 0.25)
    assert torch.allclose(add_noise(x0, noise, s), 0.75 * x0 + 0.25 * noise)
    perfect = flow_matching_loss(lambda x, t: noise - x0, x0, s, noise)
    wrong = flow_matching_loss(lambda x, t: torch.zeros_like(x), x0, s, noise)
    assert perfect.item() < 1e-12 < wrong.item()

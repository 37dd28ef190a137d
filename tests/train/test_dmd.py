import pytest
import torch

from yume_gym.sampling import FlowSchedule, sample
from yume_gym.train.dmd import dmd_loss, guided_velocity, student_sample


def linear_velocity(x, t):
    return 0.5 * x + t[:, None] / 1000.0


def test_student_sample_at_the_last_step_is_the_sampler_output():
    schedule = FlowSchedule(4, 1.0)
    noise = torch.randn(3, 5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(student_sample(linear_velocity, noise, schedule, 3), sample(linear_velocity, noise, schedule))


def test_student_sample_keeps_gradients_of_the_exit_step_only():
    weight = torch.ones(1, requires_grad=True)
    calls = []

    def velocity(x, t):
        calls.append(torch.is_grad_enabled())
        return weight * x

    student_sample(velocity, torch.randn(2, 3), FlowSchedule(4, 1.0), exit_step=2).sum().backward()
    assert calls == [False, False, True] and weight.grad is not None
    with pytest.raises(ValueError, match="exit_step"):
        student_sample(velocity, torch.randn(2, 3), FlowSchedule(4, 1.0), exit_step=4)


def test_guidance_combines_conditional_and_unconditional_velocities():
    def model(x, t, context, history):
        assert history is None or history.shape[0] == x.shape[0]
        return x * 0 + context.sum(dim=(1, 2)).view(-1, 1)

    x, t = torch.zeros(2, 4), torch.full((2,), 500.0)
    context = torch.ones(2, 3, 2)  # sum 6 conditional, 0 unconditional
    assert torch.equal(guided_velocity(model, x, t, context, None, 1.0), torch.full((2, 4), 6.0))
    assert torch.equal(guided_velocity(model, x, t, context, torch.zeros(2, 1), 3.0), torch.full((2, 4), 18.0))


def test_dmd_loss_is_zero_when_the_scores_agree_and_pushes_toward_the_real_score():
    x = torch.randn(4, 6, requires_grad=True)
    sigma, noise = torch.full((4,), 0.5), torch.randn(4, 6)
    loss, _ = dmd_loss(x, linear_velocity, linear_velocity, sigma, noise)
    assert loss.item() == 0.0
    real = lambda x_t, t: torch.zeros_like(x_t)  # noqa: E731 - real x0 = x_t
    fake = lambda x_t, t: -torch.ones_like(x_t)  # noqa: E731 - fake x0 = x_t + sigma: above the real one
    loss, info = dmd_loss(x, real, fake, sigma, noise)
    loss.backward()
    assert info["dmd_grad"] > 0 and (x.grad > 0).all()  # descending moves x down, toward the real x0

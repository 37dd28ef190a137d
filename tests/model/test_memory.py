"""Memory estimates on fake tensors: the tracker counts exactly what the code allocates."""

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode

from yume_gym.model.generator import released_config
from yume_gym.model.memory import PeakTracker, activation_peak, dit_step, parameter_bytes


def test_tracker_counts_allocations_not_views():
    with FakeTensorMode():
        before = torch.randn(1000)  # exists before tracking: never counted
        tracker = PeakTracker()
        with tracker:
            a = torch.randn(1000)  # 4000 bytes
            view = a.view(10, 100).t()[2:]  # views share a's storage
            b = a + 1  # 4000 more
            del b  # freed
            c = before * 2  # 4000 more, peak 8000 again
        assert (tracker.peak, tracker.live) == (8000, 8000)
        del a, view, c


def test_activation_peak_of_a_linear_layer():
    with torch.device("meta"):
        layer = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 8))

    def run(m):
        m(torch.randn(32, 64))  # input 8 kB, hidden 32 kB, GELU 32 kB (hidden still alive)

    assert activation_peak(layer, run) == 32 * 64 * 4 + 2 * 32 * 256 * 4
    with torch.device("meta"):
        assert parameter_bytes(nn.Linear(64, 256)) == (64 * 256 + 256) * 2


def test_generator_step_grows_with_history():
    config = released_config({"model_type": "ti2v", "in_dim": 4, "out_dim": 4, "dim": 32,
                              "ffn_dim": 64, "freq_dim": 16, "text_dim": 32, "text_len": 16,
                              "num_heads": 2, "num_layers": 1})
    first = dit_step(config, (64, 64))
    later = dit_step(config, (64, 64), history_latents=30)
    assert first.weights == later.weights > 0
    assert 0 < first.activations < later.activations

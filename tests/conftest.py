"""Test-wide settings.

Tests run torch on one intra-op thread: the suite's models are tiny, and OpenMP's spinning
worker threads slow tests down by orders of magnitude whenever another process shares the
machine's cores.
"""

import torch

torch.set_num_threads(1)

"""Agents that learn in generated worlds and are scored in the ground truth.

Scripts run from the repository root (this directory is not part of the installed package):

- ``python -m agents.train_ppo``: PPO in YumeWorld (the world model) or ProcWorld;
- ``python -m agents.evaluate``: trained, random and scripted agents on held-out episodes;
- ``python -m agents.curves``: ProcWorld success of every saved checkpoint, as CSV and PNG.

The experiment and its commands are in ``docs/agents.md``.
"""

"""Agents that learn in generated worlds and are scored in the ground truth.

Installed with the package as ``yume_gym_agents``; each job runs from any directory:

- ``yume-gym agents train_ppo``: PPO in YumeWorld (the world model) or ProcWorld;
- ``yume-gym agents evaluate``: trained, random and scripted agents on held-out episodes;
- ``yume-gym agents curves``: ProcWorld success of every saved checkpoint, as CSV and PNG;
- ``yume-gym agents side_by_side``: ProcWorld and the dream on the same episodes, as filmstrips.

The experiment and its commands are in ``docs/agents.md``.
"""

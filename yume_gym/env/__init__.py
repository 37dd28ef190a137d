"""The Gymnasium layer: world-model envs on top of :mod:`yume_gym.world`.

``core`` (the batched step, written once), ``single`` and ``vector`` (the env and its vector
env), ``sb3`` (a stable-baselines3 VecEnv), ``yume5b`` (the released model's ids),
``remote`` (world servers on Ray), ``registration``, ``recorder``, ``rewards``, ``tasks`` and
``scripted_events``.
"""

"""The ``yume-gym`` commands: demo, play and serve, doctor, export and the benchmarks.

Each job is a ``main(argv) -> int``; :mod:`yume_gym.commands.cli` dispatches to them. Nothing
in the package imports this layer.
"""

"""Measuring a world model against the procedural ground truth (``yume-gym eval``)."""

"""Benchmarks behind `yume-gym bench`: each prints a table and writes it under runs/bench/ (or --out)."""

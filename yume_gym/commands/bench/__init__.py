"""Benchmarks behind `yume-gym bench`: each prints a table and writes it to docs/benchmarks/."""

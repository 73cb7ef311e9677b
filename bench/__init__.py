"""Benchmark harness: `make bench SCALE=sample|100k|1m` (see bench/run.py and bench/RESULTS.md)."""

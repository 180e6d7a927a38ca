"""Benchmarks of the production stack; run bench/run.py."""

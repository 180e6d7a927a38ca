"""Benchmarks of the production stack; run `python -m bench.run` from the repository root."""

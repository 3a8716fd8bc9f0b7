"""Benchmarks (`make bench`): figures are measured here, never asserted with timers in tests."""

"""Fakes of external services for tests and benchmarks."""

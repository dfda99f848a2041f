"""Benchmarks: each measures this project and a reference in the same run and prints the ratio."""

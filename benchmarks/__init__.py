"""Benchmark scripts: each prints a speed ratio measured in one run."""

"""Benchmarks: our wrappers against the raw runtimes (and the old community classes)."""

"""Benchmarks: each module measures one thing and a reference in the same run, and prints both."""

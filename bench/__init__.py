"""Benchmarks: a load generator for the chat protocol and IRC, and the side-by-side runner."""

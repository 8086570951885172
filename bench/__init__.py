"""Benchmarks, never deployed.

The durable pipeline against the sequential and gather designs, devhost, storage ingest.
"""

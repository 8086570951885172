"""Benchmarks, never deployed: the durable pipeline against the sequential and gather designs, devhost, ingest."""

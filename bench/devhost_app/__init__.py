"""A tiny Function App that the devhost benchmark runs (never deployed)."""

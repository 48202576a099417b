"""Tiny servers that TaskTrek is compared against; each runs as `python -m bench.peers.<name>`."""

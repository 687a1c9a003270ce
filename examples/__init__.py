"""Durable handlers for the seed's patterns, run by ``python -m examples`` and the tests."""

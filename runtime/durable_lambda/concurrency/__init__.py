"""Map and parallel."""

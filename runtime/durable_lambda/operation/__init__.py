"""One module per durable operation."""

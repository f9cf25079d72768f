"""llms faces."""

"""The standard: schema registry, pydantic model, reference resolution."""

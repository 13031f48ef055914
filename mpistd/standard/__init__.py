"""The standard: schema registry, pydantic model (and the pipeline's typed view of it), reference resolution."""

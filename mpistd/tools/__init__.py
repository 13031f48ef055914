"""User-facing generators around the validator: init, import, simulate."""

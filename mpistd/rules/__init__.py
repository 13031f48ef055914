"""Rules: one module per family; see registry.py."""

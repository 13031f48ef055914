"""One module per rule family, each listing VECTORS (see ../make_vectors.py)."""

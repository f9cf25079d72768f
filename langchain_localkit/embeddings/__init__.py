"""embeddings faces."""

"""Runtime engines: one adapter per runtime (load or connect, generate, tokenize, embed)."""

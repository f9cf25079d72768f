"""Whether a live Ollama answers, and with which model (`OLLAMA_HOST`, `OLLAMA_TEST_MODEL`)."""

from __future__ import annotations

import functools
import os

import httpx

HOST = os.environ.get("OLLAMA_HOST") or "127.0.0.1:11434"
MODEL = os.environ.get("OLLAMA_TEST_MODEL")
EMBED_MODEL = os.environ.get("OLLAMA_TEST_EMBED_MODEL")


def base_url() -> str:
    return HOST if HOST.startswith(("http://", "https://")) else f"http://{HOST}"


@functools.cache
def skip_reason() -> str | None:
    """None when a live Ollama answers at `OLLAMA_HOST` and `OLLAMA_TEST_MODEL` is set."""
    try:
        httpx.get(f"{base_url()}/api/version", timeout=0.5).raise_for_status()
    except (httpx.HTTPError, OSError) as e:
        return f"no live Ollama at {base_url()} ({type(e).__name__}); set OLLAMA_HOST"
    if not MODEL:
        return f"a live Ollama answers at {base_url()}, but OLLAMA_TEST_MODEL is not set"
    return None

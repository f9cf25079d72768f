"""Whether a live Ollama answers, and with which model (`OLLAMA_HOST`, `OLLAMA_TEST_MODEL`)."""

from __future__ import annotations

import functools
import os

import httpx
from ollama._client import _parse_host

MODEL = os.environ.get("OLLAMA_TEST_MODEL")
EMBED_MODEL = os.environ.get("OLLAMA_TEST_EMBED_MODEL")


def base_url() -> str:
    """`OLLAMA_HOST` read the way the `ollama` client reads it (default 127.0.0.1:11434)."""
    return str(_parse_host(os.environ.get("OLLAMA_HOST")))


@functools.cache
def skip_reason() -> str | None:
    """None when a live Ollama answers at `OLLAMA_HOST` and `OLLAMA_TEST_MODEL` is set."""
    url = base_url()
    try:
        httpx.get(f"{url}/api/version", timeout=0.5).raise_for_status()
    except (httpx.HTTPError, OSError) as e:
        return f"no live Ollama at {url} ({type(e).__name__}); set OLLAMA_HOST"
    except RuntimeError as e:  # pytest-socket: the test run only allows loopback
        return f"{url} is not reachable from this test run ({e}); allow it with --allow-hosts"
    if not MODEL:
        return f"a live Ollama answers at {url}, but OLLAMA_TEST_MODEL is not set"
    return None

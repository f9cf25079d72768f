"""Whether a live Ollama answers, and with which model (`OLLAMA_HOST`, `OLLAMA_TEST_MODEL`).

`OLLAMA_REASONING_TEST_MODEL` names a thinking model (`qwen3:0.6b`, `deepseek-r1:1.5b`,
`gpt-oss:20b`, ...) for the reasoning tests.
"""

from __future__ import annotations

import functools
import os

import httpx
from ollama._client import _parse_host

MODEL = os.environ.get("OLLAMA_TEST_MODEL")
EMBED_MODEL = os.environ.get("OLLAMA_TEST_EMBED_MODEL")
REASONING_MODEL = os.environ.get("OLLAMA_REASONING_TEST_MODEL")


def base_url() -> str:
    """`OLLAMA_HOST` read the way the `ollama` client reads it (default 127.0.0.1:11434)."""
    return str(_parse_host(os.environ.get("OLLAMA_HOST")))


@functools.cache
def skip_reason() -> str | None:
    """None when a live Ollama answers at `OLLAMA_HOST` and `OLLAMA_TEST_MODEL` is set."""
    reason = unreachable()
    if reason is None and not MODEL:
        return f"a live Ollama answers at {base_url()}, but OLLAMA_TEST_MODEL is not set"
    return reason


@functools.cache
def reasoning_skip_reason() -> str | None:
    """None when a live Ollama answers and `OLLAMA_REASONING_TEST_MODEL` is set."""
    reason = unreachable()
    if reason is None and not REASONING_MODEL:
        return (
            f"a live Ollama answers at {base_url()}, but OLLAMA_REASONING_TEST_MODEL (a "
            "thinking model's tag) is not set"
        )
    return reason


@functools.cache
def unreachable() -> str | None:
    """Why no live Ollama answers at `OLLAMA_HOST` (None: one does)."""
    url = base_url()
    try:
        httpx.get(f"{url}/api/version", timeout=0.5).raise_for_status()
    except (httpx.HTTPError, OSError) as e:
        return f"no live Ollama at {url} ({type(e).__name__}); set OLLAMA_HOST"
    except RuntimeError as e:  # pytest-socket: the test run only allows loopback
        return f"{url} is not reachable from this test run ({e}); allow it with --allow-hosts"
    return None

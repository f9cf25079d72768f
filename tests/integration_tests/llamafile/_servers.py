"""The llama-server processes the llamafile integration tests share, started lazily.

Suite classes of langchain-tests cannot take pytest fixtures in their parameter properties,
so servers are started on first use here and stopped by a session fixture (conftest.py).
llamafile's server is llama.cpp's: `llama-server` on the same GGUF stands in for a llamafile.
"""

from __future__ import annotations

import os
import sys
import threading

from langchain_localkit.testing.llama_server import (
    LlamaServer,
    ensure_llama_server,
    find_llama_server,
)
from tests.models import chat_test_model, gemma_path, smollm2_path, thinking_path, tiny_path

_LOCK = threading.Lock()
_RUNNING: dict[str, LlamaServer] = {}


def binary() -> str:
    """The cached llama-server; built on first use when missing (once, ~5-9 min)."""
    if find_llama_server() is None:
        sys.stderr.write("llama-server is not built yet: building it once (about 5-9 min)\n")
    return str(ensure_llama_server(build=os.environ.get("LOCALKIT_NO_BUILD") != "1"))


def _spec(name: str) -> LlamaServer:
    if name == "tiny":
        return LlamaServer(tiny_path(), binary=binary(), n_ctx=2048, threads=2)
    if name == "tiny-parallel":  # two slots: concurrent requests are decoded together
        return LlamaServer(tiny_path(), binary=binary(), n_ctx=2048, parallel=2, threads=2)
    if name == "gemma":
        return LlamaServer(gemma_path(), binary=binary(), n_ctx=4096, threads=2)
    if name == "smollm2":
        # --jinja: the server renders chats with the GGUF's own template (as it does by default)
        return LlamaServer(
            smollm2_path(), binary=binary(), n_ctx=4096, threads=2, extra_args=["--jinja"]
        )
    if name == "bigger":  # LOCALKIT_CHAT_TEST_MODEL, for the standard suite on a bigger model
        path = chat_test_model()
        assert path is not None, "set LOCALKIT_CHAT_TEST_MODEL to a GGUF"
        return LlamaServer(path, binary=binary(), n_ctx=4096)
    if name in ("thinking-qwen3", "thinking-r1"):  # --jinja: the server parses thoughts
        style = name.split("-", 1)[1]
        return LlamaServer(
            thinking_path(style), binary=binary(), n_ctx=2048, threads=2, extra_args=["--jinja"]
        )
    if name == "embeddings":
        return LlamaServer(
            tiny_path(), binary=binary(), n_ctx=512, embeddings=True, pooling="mean", threads=2
        )
    raise KeyError(name)


def server(name: str) -> LlamaServer:
    """The shared server `name` ("tiny", "tiny-parallel", "gemma", "smollm2", "bigger",
    "embeddings"), started on first use."""
    with _LOCK:
        running = _RUNNING.get(name)
        if running is None or running.process is None or running.process.poll() is not None:
            running = _spec(name).start()
            _RUNNING[name] = running
        return running


def url(name: str) -> str:
    return server(name).base_url


def stop_all() -> None:
    with _LOCK:
        for running in _RUNNING.values():
            running.stop()
        _RUNNING.clear()

"""Faults with a real llama-server: not started, killed mid-stream, an HTTP error, still
loading. Each gives its typed error within the timeout; the process stays healthy."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from langchain_localkit._core.errors import (
    ServerDisconnectedError,
    ServerError,
    ServerUnavailableError,
)
from langchain_localkit.chat_models.llamafile import ChatLlamafile
from langchain_localkit.llms.llamafile import Llamafile
from langchain_localkit.testing.llama_server import LlamaServer, free_port
from tests.integration_tests.llamafile._servers import binary
from tests.models import gemma_path, tiny_path


def still_healthy(server: LlamaServer) -> None:
    assert Llamafile(base_url=server.base_url, max_tokens=4).invoke("the moon")


def test_server_not_started(tiny_server: LlamaServer) -> None:
    started = time.monotonic()
    with pytest.raises(ServerUnavailableError, match="--server --nobrowser"):
        ChatLlamafile(base_url=f"http://127.0.0.1:{free_port()}").invoke("hi")
    assert time.monotonic() - started < 2
    still_healthy(tiny_server)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_killed_mid_stream(mode: str, tiny_server: LlamaServer) -> None:
    server = LlamaServer(gemma_path(), binary=binary(), n_ctx=1024, threads=2).start()
    try:
        llm = Llamafile(base_url=server.base_url, max_tokens=400, request_timeout=30)
        seen: list[str] = []

        def consume() -> None:
            for chunk in llm.stream("Tell me a long story."):
                seen.append(chunk)
                if len(seen) == 3:
                    server.kill()

        async def aconsume() -> None:
            async for chunk in llm.astream("Tell me a long story."):
                seen.append(chunk)
                if len(seen) == 3:
                    server.kill()

        started = time.monotonic()
        with pytest.raises(ServerDisconnectedError, match="crashed"):
            consume() if mode == "sync" else asyncio.run(aconsume())
        assert time.monotonic() - started < 10
        assert len(seen) >= 3
    finally:
        server.stop()
    still_healthy(tiny_server)
    assert threading.active_count() < 20


def test_http_error_message_is_surfaced(tiny_server: LlamaServer) -> None:
    llm = Llamafile(base_url=tiny_server.base_url, grammar="root ::= [")
    with pytest.raises(ServerError, match=r"HTTP 400.*grammar") as caught:
        llm.invoke("x")
    assert caught.value.status_code == 400
    with pytest.raises(ServerError, match="grammar"):
        list(llm.stream("x"))  # never yields the error body as text
    still_healthy(tiny_server)


def test_embeddings_on_a_generation_server(tiny_server: LlamaServer) -> None:
    from langchain_localkit.embeddings.llamafile import LlamafileEmbeddings

    with pytest.raises(ServerError, match="--embeddings"):
        LlamafileEmbeddings(base_url=tiny_server.base_url).embed_query("x")


def test_a_server_that_was_just_launched(tiny_server: LlamaServer) -> None:
    """Calls made while the model loads wait for it (HTTP 503), up to `load_timeout`."""
    server = LlamaServer(tiny_path(), binary=binary(), n_ctx=512, threads=2).start(wait=False)
    try:
        deadline = time.monotonic() + 30
        while True:  # the port opens before the model is loaded
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", server.port or 0)) == 0:
                    break
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert Llamafile(base_url=server.base_url, max_tokens=4, load_timeout=30).invoke("moon")
    finally:
        server.stop()

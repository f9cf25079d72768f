"""`Llamafile` (BaseLLM) on a real llama-server: invoke, stream, async, stop, cancellation."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from langchain_localkit._core.errors import ContextOverflowError
from langchain_localkit.llms.llamafile import Llamafile
from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests._concurrency import read_then_close
from tests.models import tiny_path


def tiny(server: LlamaServer, **kwargs: Any) -> Llamafile:
    return Llamafile(**{"base_url": server.base_url, "temperature": 0, "max_tokens": 16, **kwargs})


def test_seed_call_with_no_arguments() -> None:
    """`Llamafile().invoke(...)`, as the source document writes it, on localhost:8080."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8080)) == 0:
            pytest.skip("something already listens on port 8080")
    from tests.integration_tests.llamafile._servers import binary

    with LlamaServer(tiny_path(), binary=binary(), port=8080, n_ctx=512, threads=2):
        text = Llamafile(max_tokens=8).invoke("The first man on the moon was")
    assert isinstance(text, str)
    assert text.strip()


def test_invoke_and_generation_info(tiny_server: LlamaServer) -> None:
    llm = tiny(tiny_server)
    result = llm.generate(["The first man on the moon was"])
    gen = result.generations[0][0]
    assert gen.text.strip()
    info = gen.generation_info or {}
    assert info["finish_reason"] == "length"
    assert info["usage"]["output_tokens"] == 16
    assert info["usage"]["input_tokens"] == len(
        llm.engine.tokenize("The first man on the moon was", add_special=True)
    )
    assert info["timings"]["eval_tokens"] == 16
    assert info["timings"]["eval_tokens_per_second"] > 0
    assert info["model_name"] == tiny_path().name
    assert info["stop_type"] == "limit"


def test_stream_is_token_by_token_and_equals_invoke(tiny_server: LlamaServer) -> None:
    llm = tiny(tiny_server)
    chunks = list(llm.stream("the moon"))
    assert len([c for c in chunks if c]) >= 8
    assert "".join(chunks) == llm.invoke("the moon")


def test_same_text_as_in_process_llama_cpp(tiny_server: LlamaServer) -> None:
    """Greedy decoding of the same GGUF by the server and by llama-cpp-python agrees.

    (Without the repeat penalty: the two runtimes apply it over different token windows.)
    """
    pytest.importorskip("llama_cpp")
    from langchain_localkit.llms.llamacpp import LlamaCpp

    local = LlamaCpp(
        model_path=str(tiny_path()), temperature=0, max_tokens=32, n_ctx=512, repeat_penalty=1.0
    )
    remote = tiny(tiny_server, max_tokens=32, repeat_penalty=1.0)
    assert remote.invoke("the moon") == local.invoke("the moon")


def test_stop_halts_generation(tiny_server: LlamaServer) -> None:
    llm = tiny(tiny_server, max_tokens=64)
    full = llm.invoke("the moon")
    words = full.split()
    stop = " " + words[3]
    result = llm.generate(["the moon"], stop=[stop]).generations[0][0]
    assert result.text == full[: full.index(stop)]
    info = result.generation_info or {}
    assert (info["finish_reason"], info["stop_reason"], info["stop_type"]) == ("stop", stop, "word")
    # a constructor stop is honoured too, on the streaming path
    assert "".join(tiny(tiny_server, max_tokens=64, stop=[stop]).stream("the moon")) == result.text


def test_non_streaming_mode(tiny_server: LlamaServer) -> None:
    llm = tiny(tiny_server, streaming=False)
    assert llm.invoke("the moon") == tiny(tiny_server).invoke("the moon")


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def test_callbacks_see_every_token(tiny_server: LlamaServer) -> None:
    handler = Tokens()
    text = tiny(tiny_server, callbacks=[handler]).invoke("the moon")
    assert "".join(handler.tokens) == text
    assert len(handler.tokens) >= 8


async def test_async_invoke_stream_and_batch(tiny_server: LlamaServer) -> None:
    llm = tiny(tiny_server)
    expected = llm.invoke("the moon")
    assert await llm.ainvoke("the moon") == expected
    assert "".join([c async for c in llm.astream("the moon")]) == expected
    assert await llm.abatch(["the moon", "the moon"]) == [expected, expected]
    assert (
        await llm.ainvoke("the moon", stop=[expected.split()[2]])
        == expected[: expected.index(expected.split()[2])]
    )


def test_token_counting(tiny_server: LlamaServer) -> None:
    llm = tiny(tiny_server)
    assert llm.get_num_tokens("the moon") == len(llm.get_token_ids("the moon")) > 0


def test_context_overflow_is_typed(tiny_server: LlamaServer) -> None:
    with pytest.raises(ContextOverflowError, match="context"):
        tiny(tiny_server).invoke("moon " * 3000)


def test_gemma_completes(gemma_server: LlamaServer) -> None:
    llm = Llamafile(base_url=gemma_server.base_url, temperature=0, max_tokens=12)
    result = llm.generate(["The first man on the moon was"]).generations[0][0]
    assert result.text.strip()
    assert (result.generation_info or {})["model_name"].startswith("gemma-3-270m")


async def test_stopping_an_async_stream_stops_the_server(gemma_server: LlamaServer) -> None:
    """Breaking out of `astream` closes the connection, so the one slot is free at once."""
    llm = Llamafile(base_url=gemma_server.base_url, temperature=0.8, max_tokens=400)
    await read_then_close(llm.astream("Write a long story about the sea."))
    started = time.monotonic()
    # with one slot, this would wait for the ~400 tokens (about 10 s) if generation went on
    await asyncio.wait_for(llm.ainvoke("Hello", max_tokens=2), timeout=5)
    assert time.monotonic() - started < 5

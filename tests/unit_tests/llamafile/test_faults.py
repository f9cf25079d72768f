"""Fault paths on a real loopback socket: crash mid-stream, HTTP 500, a stuck server, nothing
listening, and cancellation. Each gives its typed error within the timeout, and the process
stays usable afterwards (no leaked threads, the next call works)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from langchain_localkit._core.errors import (
    ServerDisconnectedError,
    ServerError,
    ServerTimeoutError,
    ServerUnavailableError,
)
from langchain_localkit.chat_models.llamafile import ChatLlamafile
from langchain_localkit.llms.llamafile import Llamafile
from langchain_localkit.testing.llama_server import free_port
from tests.unit_tests.llamafile._fakes import (
    STREAM_HEAD,
    FakeServer,
    answers_500,
    chunk,
    completion_stream,
    dies_mid_stream,
    hangs_after_first_token,
    socket_server,
    streams_slowly,
)


def healthy_afterwards() -> None:
    """A fresh call on a healthy (mock) server still works after a fault."""
    fake = FakeServer()
    fake.stream("POST", "/completion", completion_stream(["ok"]))
    assert Llamafile(**fake.kwargs()).invoke("x") == "ok"


@pytest.fixture(autouse=True)
def no_leaked_threads() -> object:
    before = threading.active_count()
    yield
    deadline = time.monotonic() + 3
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before


def test_server_not_started() -> None:
    llm = Llamafile(base_url=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(ServerUnavailableError, match=r"No llamafile / llama\.cpp server at"):
        llm.invoke("x")
    assert time.monotonic() - started < 2
    healthy_afterwards()


async def test_server_not_started_async() -> None:
    chat = ChatLlamafile(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ServerUnavailableError, match=r"--server --nobrowser"):
        await chat.ainvoke("x")


def test_dies_mid_stream() -> None:
    with socket_server(dies_mid_stream) as server:
        llm = Llamafile(base_url=server.base_url, request_timeout=5)
        seen: list[str] = []
        started = time.monotonic()

        def consume() -> None:
            seen.extend(llm.stream("x"))

        with pytest.raises(ServerDisconnectedError):
            consume()
        assert time.monotonic() - started < 5
        assert seen == ["Hello", " world"]  # what came before the crash was delivered
    healthy_afterwards()


async def test_dies_mid_stream_async() -> None:
    with socket_server(dies_mid_stream) as server:
        chat = ChatLlamafile(base_url=server.base_url, chat_format="chatml", request_timeout=5)
        with pytest.raises(ServerDisconnectedError, match="closed the connection"):
            await chat.ainvoke("x")


def test_http_500_surfaces_the_message() -> None:
    with socket_server(answers_500) as server:
        llm = Llamafile(base_url=server.base_url)
        with pytest.raises(ServerError, match="KV cache full") as caught:
            llm.invoke("x")
        assert caught.value.status_code == 500
        # the error body is never yielded as tokens
        with pytest.raises(ServerError):
            list(llm.stream("x"))
    healthy_afterwards()


def test_stuck_server_times_out() -> None:
    with socket_server(hangs_after_first_token) as server:
        llm = Llamafile(base_url=server.base_url, request_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(ServerTimeoutError, match="request_timeout"):
            list(llm.stream("x"))
        assert time.monotonic() - started < 3
    healthy_afterwards()


def test_breaking_out_of_a_stream_closes_the_connection() -> None:
    gone = threading.Event()
    with socket_server(streams_slowly(gone)) as server:
        llm = Llamafile(base_url=server.base_url)
        for i, _ in enumerate(llm.stream("x")):
            if i == 2:
                break
        assert gone.wait(5), "the server never saw the client go away"


async def test_cancelling_an_async_stream_closes_the_connection() -> None:
    gone = threading.Event()
    with socket_server(streams_slowly(gone)) as server:
        chat = ChatLlamafile(base_url=server.base_url, chat_format="chatml")
        first = asyncio.Event()

        async def consume() -> None:
            async for _ in chat.astream("x"):
                first.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(gone.wait, 5), "the server never saw the client go away"


async def test_agenerate_sends_several_prompts_at_once() -> None:
    in_flight, peak = [0], [0]
    lock = threading.Lock()

    def slow_answer(conn: socket.socket, request: bytes) -> None:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.3)
        with lock:
            in_flight[0] -= 1
        if b"boom" in request:
            answers_500(conn, request)
            return
        conn.sendall(STREAM_HEAD + chunk(completion_stream(["ok"])) + b"0\r\n\r\n")

    with socket_server(slow_answer) as server:
        llm = Llamafile(base_url=server.base_url, request_timeout=5)
        started = time.perf_counter()
        result = await llm.agenerate(["a", "b", "c", "d"])
        elapsed = time.perf_counter() - started
        assert [g[0].text for g in result.generations] == ["ok"] * 4
        assert peak[0] == 4 and elapsed < 1.0  # four 0.3 s requests, overlapped
        with pytest.raises(ServerError, match="KV cache full"):  # the error itself, not a group
            await llm.agenerate(["a", "boom", "c"])

"""Code written for community's `Llamafile` (which used `requests`) still catches our errors.

Real loopback sockets: nothing listening, an HTTP 500, a stuck server, a crash mid-stream.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
import requests

from langchain_localkit._core.errors import (
    ServerDisconnectedError,
    ServerError,
    ServerTimeoutError,
    ServerUnavailableError,
)
from langchain_localkit.embeddings.llamafile import LlamafileEmbeddings
from langchain_localkit.llms.llamafile import Llamafile
from langchain_localkit.testing.llama_server import free_port
from tests.unit_tests.llamafile._fakes import (
    answers_500,
    dies_mid_stream,
    hangs_after_first_token,
    socket_server,
)


def test_server_down_is_a_requests_connection_error() -> None:
    """Test community-era code: `except requests.exceptions.ConnectionError` around `invoke`."""
    llm = Llamafile(base_url=f"http://127.0.0.1:{free_port()}")
    try:
        llm.invoke("x")
    except requests.exceptions.ConnectionError as e:
        caught = e
    assert isinstance(caught, ServerUnavailableError)
    assert isinstance(caught, ConnectionError)  # the builtin, as before
    assert "No llamafile / llama.cpp server at" in str(caught)
    assert type(caught).__name__ == "ServerUnavailableError"
    assert caught.response is None and caught.request is None


def test_embeddings_server_down_is_a_requests_connection_error() -> None:
    embeddings = LlamafileEmbeddings(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(requests.exceptions.ConnectionError):
        embeddings.embed_query("x")


def test_http_error_status_is_a_requests_http_error() -> None:
    with socket_server(answers_500) as server:
        llm = Llamafile(base_url=server.base_url)
        with pytest.raises(requests.exceptions.HTTPError, match="KV cache full") as caught:
            llm.invoke("x")
    assert isinstance(caught.value, ServerError)
    assert caught.value.status_code == 500


def test_timeout_is_a_requests_timeout() -> None:
    with socket_server(hangs_after_first_token) as server:
        llm = Llamafile(base_url=server.base_url, request_timeout=0.5)
        with pytest.raises(requests.exceptions.Timeout) as caught:
            list(llm.stream("x"))
    assert isinstance(caught.value, ServerTimeoutError)
    assert isinstance(caught.value, requests.exceptions.ReadTimeout)
    assert isinstance(caught.value, TimeoutError)


def test_crash_mid_stream_is_a_requests_connection_error() -> None:
    with socket_server(dies_mid_stream) as server:
        llm = Llamafile(base_url=server.base_url, request_timeout=5)
        with pytest.raises(requests.exceptions.ChunkedEncodingError) as caught:
            list(llm.stream("x"))
    assert isinstance(caught.value, ServerDisconnectedError)
    assert isinstance(caught.value, requests.exceptions.ConnectionError)


@pytest.mark.parametrize(
    "error",
    [
        ServerUnavailableError("down"),
        ServerDisconnectedError("gone"),
        ServerTimeoutError("slow"),
        ServerError("bad", 503),
    ],
    ids=lambda e: type(e).__name__,
)
def test_twins_pickle(error: Exception) -> None:
    """Test that a twin pickles by its public class (rebuilt as a twin while requests is here)."""
    base = type(error).__mro__[1]
    assert base.__module__ == "langchain_localkit._core.errors"
    assert pickle.dumps(error) == pickle.dumps(base(*error.args)) or isinstance(error, ServerError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and isinstance(copy, base)
    assert copy.args == error.args
    assert getattr(copy, "status_code", None) == getattr(error, "status_code", None)


def test_without_requests_loaded_nothing_changes() -> None:
    """Test that the errors never import requests, and are our plain classes without it.

    (LangSmith, under langchain-core, imports requests, so in a LangChain program the twins
    are what you get; this checks the errors module on its own.)
    """
    code = (
        "import sys\n"
        "from langchain_localkit._core.errors import ServerError, ServerUnavailableError\n"
        "e, f = ServerUnavailableError('down'), ServerError('bad', 500)\n"
        "print(type(e) is ServerUnavailableError, type(f) is ServerError, f.status_code,\n"
        "      'requests' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["True", "True", "500", "False"]

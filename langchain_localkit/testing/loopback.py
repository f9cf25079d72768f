"""What the loopback test servers share: the address, a free port, `with` support.

`ScriptedServer` adds what the API stand-ins share: recorded requests and queued replies.
"""

from __future__ import annotations

import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

HOST = "127.0.0.1"
"""The address every test server listens on: loopback only."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Example:
        >>> 1024 < free_port() < 65536
        True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class LoopbackServer(ABC):
    """A server that `start()` starts and `stop()` stops; a `with` block does both."""

    @abstractmethod
    def start(self) -> Self:
        """Start serving; returns the server."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving and release what the server holds."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


R = TypeVar("R")


class ScriptedServer(LoopbackServer, Generic[R]):
    """An HTTP API stand-in on loopback (the Ollama and OpenAI-compatible ones).

    A thread per connection, every request recorded, replies queued per model and endpoint.

    Args:
        handler: Makes the request handler class for this server.
        host: The address to listen on (loopback).
        port: The port (0: a free one).

    Attributes:
        requests: Every request received, in order (each has a `path`).
    """

    def __init__(
        self,
        handler: Callable[[Any], type[BaseHTTPRequestHandler]],
        host: str = HOST,
        port: int = 0,
    ) -> None:
        self.requests: list[Any] = []
        self._replies: list[tuple[str | None, str | None, R]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The root URL, e.g. `http://127.0.0.1:40123`."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def _queue(self, model: str | None, path: str | None, replies: Iterable[R]) -> None:
        with self._lock:
            self._replies.extend((model, path, r) for r in replies)

    def _take(self, model: str, path: str) -> R | None:
        """The first queued reply for `model` and `path` (removed from the queue), or None."""
        with self._lock:
            for i, (only_model, only_path, reply) in enumerate(self._replies):
                if only_model in (None, model) and only_path in (None, path):
                    del self._replies[i]
                    return reply
        return None

    def reset(self) -> Self:
        """Forget the recorded requests and drop the queued replies (a server shared by tests)."""
        with self._lock:
            self.requests.clear()
            self._replies.clear()
        return self

    def pending(self) -> int:
        """How many queued replies have not been used yet."""
        with self._lock:
            return len(self._replies)

    def requests_to(self, path: str) -> list[Any]:
        """Every request to `path`, in order."""
        return [request for request in self.requests if request.path == path]

    def last(self, path: str) -> Any:
        """The last request to `path`."""
        for request in reversed(self.requests):
            if request.path == path:
                return request
        raise LookupError(f"no request to {path} yet")

    def start(self) -> Self:
        """Serve in a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()


__all__ = ["HOST", "LoopbackServer", "ScriptedServer", "free_port"]

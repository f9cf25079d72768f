"""Servers that misbehave on purpose, on real loopback sockets, for the reliability suite.

`RawServer` is an HTTP/1.1 server on 127.0.0.1 (an ephemeral port, a thread per connection,
one request per connection: every answer says `Connection: close`). Each request goes to a
*behaviour*, `(conn, request) -> None`, that writes whatever it wants to the socket: an HTML
page, an error status, broken JSON, a stream that stops half-way, nothing at all. The
behaviours below are the bad servers a user meets: a web server on the port, a crashed or
stuck inference server, a different kind of server than the one expected.

`llama_like(route)` wraps a behaviour with the endpoints llama-server answers on the side
(`/props`, `/health`, `/v1/models`), so the faces get past their first look at the server and
meet the fault where it is meant to be: in the reply.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.unit_tests.llamafile._fakes import TINY_PROPS, chunk


@dataclass(frozen=True)
class Request:
    """A request as the server read it."""

    method: str
    path: str
    body: bytes

    def json(self) -> Any:
        """The JSON body (None when there is none)."""
        return json.loads(self.body) if self.body.strip() else None


Behaviour = Callable[[socket.socket, Request], None]


class RawServer:
    """A one-behaviour HTTP server on 127.0.0.1 (see the module docstring).

    Args:
        behaviour: Answers each request by writing to the socket.

    Attributes:
        requests: Every request read, in order.
        closed_by_client: Set when the client closed its end while the behaviour waited.
    """

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests: list[Request] = []
        self.closed_by_client = threading.Event()
        self.release = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _read(self, conn: socket.socket) -> Request | None:
        data = b""
        while b"\r\n\r\n" not in data:
            part = conn.recv(65536)
            if not part:
                return None
            data += part
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        while len(body) < length:
            part = conn.recv(65536)
            if not part:
                break
            body += part
        return Request(method, path, body)

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            with contextlib.suppress(OSError):
                request = self._read(conn)
                if request is None:
                    return
                self.requests.append(request)
                self.behaviour(conn, request)

    def wait_for_client_close(self, conn: socket.socket, limit: float = 30) -> None:
        """Block until the client closes the connection (or `limit` seconds, or `close()`)."""
        conn.settimeout(0.05)
        for _ in range(int(limit / 0.05)):
            if self._stop.is_set():
                return
            try:
                if not conn.recv(1024):
                    self.closed_by_client.set()
                    return
            except TimeoutError:
                continue
            except OSError:
                self.closed_by_client.set()
                return

    def close(self) -> None:
        """Stop accepting, let the handlers end, close the socket."""
        self._stop.set()
        self._thread.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
        self.sock.close()


@contextmanager
def serving(behaviour: Behaviour) -> Iterator[RawServer]:
    """A `RawServer` for the `with` block."""
    server = RawServer(behaviour)
    try:
        yield server
    finally:
        server.close()


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------
def send(
    conn: socket.socket, status: str, body: bytes, content_type: str = "application/json"
) -> None:
    """A whole answer with a `Content-Length`."""
    conn.sendall(
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n".encode()
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


def send_json(conn: socket.socket, data: Any, status: str = "200 OK") -> None:
    """A JSON answer."""
    send(conn, status, json.dumps(data).encode())


HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n"
    b"<body><h1>Welcome to nginx!</h1><p>If you see this page, the web server is working."
    b"</p></body></html>\n"
)


def html_site(conn: socket.socket, _request: Request) -> None:
    """A web server on the port: an HTML page for every path, status 200."""
    send(conn, "200 OK", HTML_PAGE, "text/html; charset=utf-8")


def not_found_everywhere(conn: socket.socket, _request: Request) -> None:
    """A server that has none of the endpoints: Go's plain-text 404 for every path."""
    send(conn, "404 Not Found", b"404 page not found", "text/plain; charset=utf-8")


def ollama_like(conn: socket.socket, request: Request) -> None:
    """Ollama on the port where llama-server is expected (its `/`, its 404 for the rest)."""
    if request.path == "/" and request.method in ("GET", "HEAD"):
        send(conn, "200 OK", b"Ollama is running", "text/plain; charset=utf-8")
    elif request.path == "/api/version":
        send_json(conn, {"version": "0.12.3"})
    else:
        send(conn, "404 Not Found", b"404 page not found", "text/plain; charset=utf-8")


def status_500(conn: socket.socket, _request: Request) -> None:
    """HTTP 500 at once, llama.cpp's error object, for every path."""
    error = {"code": 500, "message": "llama_decode failed: KV cache full", "type": "server_error"}
    send_json(conn, {"error": error}, "500 Internal Server Error")


def bad_json(conn: socket.socket, _request: Request) -> None:
    """`200 application/json` whose body is not JSON (cut short)."""
    send(conn, "200 OK", b'{"content": "Hello", "stop": tr')


def hang(server: RawServer) -> Behaviour:
    """Read the request, answer nothing until the client gives up."""

    def behaviour(conn: socket.socket, _request: Request) -> None:
        server.wait_for_client_close(conn)

    return behaviour


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    b"Connection: close\r\n\r\n"
)


def sse_lines(*events: Any) -> bytes:
    """Events as `data: {json}` lines (a `str` is sent as the raw line)."""
    out = b""
    for e in events:
        line = e if isinstance(e, str) else f"data: {json.dumps(e)}"
        out += line.encode() + b"\n\n"
    return out


def stream(events: Sequence[Any], end: str = "drop") -> Behaviour:
    """A 200 event stream with `events`, then `end`.

    `end`: "drop" closes the socket without the last chunk (a crash); "end" finishes the body
    cleanly (the chunked terminator) but without the final event; "hang" sends nothing more.
    """

    def behaviour(conn: socket.socket, _request: Request) -> None:
        conn.sendall(STREAM_HEAD)
        for event in events:
            conn.sendall(chunk(sse_lines(event)))
        if end == "end":
            conn.sendall(b"0\r\n\r\n")
        elif end == "drop":
            conn.shutdown(socket.SHUT_RDWR)
        else:
            with contextlib.suppress(OSError):
                conn.settimeout(30)
                while conn.recv(1024):
                    pass

    return behaviour


MODELS = {
    "object": "list",
    "data": [{"id": "tiny-llama.gguf", "object": "model", "owned_by": "llamacpp"}],
}


def llama_like(route: Behaviour) -> Behaviour:
    """llama-server's side endpoints (`/props`, `/health`, `/v1/models`); the rest to `route`."""

    def behaviour(conn: socket.socket, request: Request) -> None:
        if request.path == "/props":
            send_json(conn, TINY_PROPS)
        elif request.path == "/health":
            send_json(conn, {"status": "ok"})
        elif request.path == "/v1/models":
            send_json(conn, MODELS)
        else:
            route(conn, request)

    return behaviour


# what a healthy llama-server streams, in both dialects
def completion_events(texts: Sequence[str]) -> list[dict[str, Any]]:
    """`/completion` text events (no final event)."""
    return [{"content": t, "stop": False} for t in texts]


def chat_events(texts: Sequence[str]) -> list[dict[str, Any]]:
    """`/v1/chat/completions` chunks with text (no finish_reason)."""
    return [
        {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": t}}]}
        for t in texts
    ]


def text_events(texts: Sequence[str]) -> list[dict[str, Any]]:
    """`/v1/completions` chunks with text (no finish_reason)."""
    return [{"object": "text_completion", "choices": [{"index": 0, "text": t}]} for t in texts]

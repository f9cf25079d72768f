"""Fakes of a llama.cpp server: an httpx mock transport, and a raw socket server on loopback.

The mock transport answers the endpoints the engine uses with canned llama.cpp-shaped JSON and
records every request. The socket server misbehaves on purpose (dies mid-stream, hangs,
answers 500) to test the error paths with a real TCP connection.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

TINY_PROPS: dict[str, Any] = {
    "default_generation_settings": {"n_ctx": 1024},
    "total_slots": 1,
    "model_alias": "/models/tiny-llama.gguf",
    "model_path": "/models/does-not-exist/tiny-llama.gguf",
    "chat_template": (
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
        "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
        "{{ '<|im_start|>assistant\\n' }}{% endif %}"
    ),
    "bos_token": "<s>",
    "eos_token": "</s>",
    "build_info": "b1-test",
}

LEGACY_PROPS: dict[str, Any] = {
    "user_name": "",
    "assistant_name": "",
    "default_generation_settings": {"n_ctx": 512},
    "total_slots": 1,
}


def sse(*events: Any, done: bool = False) -> bytes:
    """Events as llama.cpp writes them: `data: {json}` and a blank line each."""
    out = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)
    return out + (b"data: [DONE]\n\n" if done else b"")


def final_event(
    *,
    stop_type: str = "limit",
    predicted: int = 2,
    evaluated: int = 5,
    word: str = "",
    model: str = "/models/tiny-llama.gguf",
) -> dict[str, Any]:
    return {
        "content": "",
        "stop": True,
        "model": model,
        "tokens_predicted": predicted,
        "tokens_evaluated": evaluated,
        "stop_type": stop_type,
        "stopping_word": word,
        "tokens_cached": evaluated + predicted,
        "timings": {
            "cache_n": 1,
            "prompt_n": evaluated - 1,
            "prompt_ms": 4.0,
            "predicted_n": predicted,
            "predicted_ms": 20.0,
        },
    }


def completion_stream(texts: Iterable[str], **final: Any) -> bytes:
    parts = [{"content": t, "stop": False} for t in texts]
    return sse(*parts, final_event(**final))


class FakeServer:
    """An `httpx.MockTransport` handler with canned answers per (method, path).

    `answers[(method, path)]` is a callable (request -> response) or a list of them, used in
    order (the last one repeats).
    """

    def __init__(self, props: dict[str, Any] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: dict[tuple[str, str], list[Callable[[httpx.Request], httpx.Response]]] = {}
        self.props = props if props is not None else dict(TINY_PROPS)
        self.on("GET", "/props", lambda r: httpx.Response(200, json=self.props))
        self.on("GET", "/health", lambda r: httpx.Response(200, json={"status": "ok"}))
        self.on("POST", "/tokenize", lambda r: httpx.Response(200, json={"tokens": [1]}))

    def on(
        self, method: str, path: str, *answers: Callable[[httpx.Request], httpx.Response]
    ) -> None:
        self.answers[(method, path)] = list(answers)

    def stream(self, method: str, path: str, *bodies: bytes) -> None:
        self.on(
            method,
            path,
            *[
                (
                    lambda b: (
                        lambda r: httpx.Response(
                            200, content=b, headers={"Content-Type": "text/event-stream"}
                        )
                    )
                )(body)
                for body in bodies
            ],
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.answers.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(404, json={"error": {"code": 404, "message": "File Not Found"}})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def kwargs(self) -> dict[str, Any]:
        """Constructor arguments that route a face's clients through this fake."""
        return {"base_url": "http://fake", "client_kwargs": {"transport": self.transport}}


# --------------------------------------------------------------------------------------------
# A misbehaving server on a real loopback socket
# --------------------------------------------------------------------------------------------
class SocketServer:
    """A one-behaviour HTTP server on 127.0.0.1 (a thread per connection).

    behaviour(conn, request_bytes) writes whatever it wants to the socket.
    """

    def __init__(self, behaviour: Callable[[socket.socket, bytes], None]) -> None:
        self.behaviour = behaviour
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.disconnected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                while len(body) < length:
                    body += conn.recv(65536)
                if head.startswith(b"GET /props"):
                    answer_json(conn, TINY_PROPS)
                else:
                    self.behaviour(conn, head + b"\r\n\r\n" + body)
            except OSError:
                self.disconnected.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@contextmanager
def socket_server(behaviour: Callable[[socket.socket, bytes], None]) -> Iterator[SocketServer]:
    server = SocketServer(behaviour)
    try:
        yield server
    finally:
        server.close()


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


# One request per connection, so the client must not pool it: a reused connection that this
# server has closed fails the next request with a ReadError (seen under load on 2 cores).
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    b"Connection: close\r\n\r\n"
)


def dies_mid_stream(conn: socket.socket, _request: bytes) -> None:
    """Two tokens, then the connection drops without the final event (a crash)."""
    conn.sendall(STREAM_HEAD)
    for text in ("Hello", " world"):
        conn.sendall(chunk(sse({"content": text, "stop": False})))
        time.sleep(0.01)
    conn.shutdown(socket.SHUT_RDWR)


def answer_json(conn: socket.socket, data: Any, status: str = "200 OK") -> None:
    body = json.dumps(data).encode()
    conn.sendall(
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n".encode()
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


def answers_500(conn: socket.socket, _request: bytes) -> None:
    error = {"code": 500, "message": "llama_decode failed: KV cache full", "type": "server_error"}
    answer_json(conn, {"error": error}, "500 Internal Server Error")


def hangs_after_first_token(conn: socket.socket, _request: bytes) -> None:
    """One token, then nothing (a stuck server)."""
    conn.sendall(STREAM_HEAD + chunk(sse({"content": "Hi", "stop": False})))
    conn.settimeout(5)
    with contextlib.suppress(OSError):
        while conn.recv(1024):  # until the client gives up and closes
            pass


def streams_slowly(server_flag: threading.Event) -> Callable[[socket.socket, bytes], None]:
    """Tokens every 20 ms until the client goes away (then sets `server_flag`)."""

    def behaviour(conn: socket.socket, _request: bytes) -> None:
        conn.sendall(STREAM_HEAD)
        try:
            for i in range(500):
                conn.sendall(chunk(sse({"content": f" t{i}", "stop": False})))
                time.sleep(0.02)
        except OSError:
            server_flag.set()

    return behaviour

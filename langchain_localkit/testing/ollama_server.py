"""An Ollama stand-in on loopback that replays API transcripts, for tests without Ollama.

`OllamaTranscriptServer` is a real HTTP server (127.0.0.1, a free port, one thread per
connection) that answers the Ollama REST API the way Ollama does, field for field, so the real
`ollama` client and langchain-ollama code run unmodified against it. The shapes are recorded
from Ollama's API documentation, `docs/api.md` of ollama/ollama (HEAD fb30760, "Generate a
completion", "Generate a chat completion", "Generate Embeddings", "List Local Models", "Show
Model Information", "Pull a Model", "Version") and its error pages (`docs/api/errors.mdx`: a
404 `{"error": "model 'x' not found"}`; an `{"error": ...}` line inside a 200 stream):

- `POST /api/generate` and `POST /api/chat`: NDJSON streams (`application/x-ndjson`), one
  object per token (`response` / `message.content`), tool calls in a `done: false` object
  (`arguments` as a JSON object), a final `done: true` object with `done_reason` and the
  metrics in nanoseconds (`total_duration`, `load_duration`, `prompt_eval_count`,
  `prompt_eval_duration`, `eval_count`, `eval_duration`; `/api/generate` adds `context` unless
  `raw`); `"stream": false` gives one `application/json` object.
- `POST /api/embed`, `GET /api/tags`, `POST /api/show`, `POST /api/pull` (progress objects
  ending in `{"status": "success"}`), `GET /api/ps`, `GET /api/version`, `GET /`.

What the model "says" is scripted: queue `Reply`s with `reply()`; without one, a fixed answer
(or, for a `format` JSON schema, a small instance of the schema). Stop strings
(`options.stop`) and `options.num_predict` are honoured as Ollama does. Token counts are
whitespace-separated pieces; durations are fixed per token, so figures are deterministic.
Faults are scripted too: `Reply(error_after=n)` sends an `{"error": ...}` line after `n`
tokens, `Reply(drop_after=n)` closes the connection mid-stream.

Example:
    >>> from langchain_localkit.testing.ollama_server import OllamaTranscriptServer
    >>> with OllamaTranscriptServer() as server:  # doctest: +SKIP
    ...     from langchain_localkit import ChatOllama
    ...
    ...     server.reply("Neil Armstrong.")
    ...     ChatOllama(model=server.model, base_url=server.url).invoke("Who?").content
    'Neil Armstrong.'
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

DEFAULT_MODEL = "llama3.1:8b"
DEFAULT_ANSWER = "The first man on the moon was Neil Armstrong, in 1969."
VERSION = "0.12.6"

LOAD_NS = 12_500_000
"""`load_duration` of every reply (12.5 ms)."""
PROMPT_NS_PER_TOKEN = 2_000_000
"""`prompt_eval_duration` per prompt token (2 ms: 500 tokens/s)."""
EVAL_NS_PER_TOKEN = 20_000_000
"""`eval_duration` per generated token (20 ms: 50 tokens/s)."""

_PIECE = re.compile(r"\s*\S+|\s+$")


def pieces(text: str) -> list[str]:
    """The "tokens" of the stand-in: whitespace-led words (`" Neil"`, `" Armstrong"`)."""
    return _PIECE.findall(text)


@dataclass
class Reply:
    """One scripted answer.

    Attributes:
        text: The answer's text, streamed one word at a time.
        tool_calls: Tool calls as Ollama sends them:
            `[{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]`.
        thinking: Reasoning text, sent before the answer (`message.thinking`).
        error_after: Send `{"error": error}` after this many tokens (status stays 200).
        error: The message of that mid-stream error.
        drop_after: Close the connection after this many tokens (no final object).
        delay: Seconds to wait before each streamed object.
    """

    text: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    thinking: str | None = None
    error_after: int | None = None
    error: str = "an error was encountered while running the model: unexpected EOF"
    drop_after: int | None = None
    delay: float = 0.0


@dataclass
class Request:
    """A request the server received: method, path and JSON body."""

    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)


class OllamaTranscriptServer:
    """A loopback HTTP server that answers like Ollama (see the module docstring).

    Args:
        models: The models the server "has" (`/api/tags`); others get Ollama's 404.
        pullable: Models `/api/pull` can fetch (None: any name).
        embedding_dim: Length of the `/api/embed` vectors.
        host: The address to listen on (loopback).
        port: The port (0: a free one).

    Attributes:
        requests: Every request received, in order.
    """

    def __init__(
        self,
        models: Iterable[str] = (DEFAULT_MODEL, "nomic-embed-text:latest"),
        *,
        pullable: Iterable[str] | None = None,
        embedding_dim: int = 32,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.models: list[str] = [_full(m) for m in models]
        self.pullable = None if pullable is None else {_full(m) for m in pullable}
        self.embedding_dim = embedding_dim
        self.requests: list[Request] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def model(self) -> str:
        """The first model (the one tests use by default)."""
        return self.models[0]

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:40123`."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, *replies: Reply | str) -> Self:
        """Queue answers for the next generate/chat requests (a string is `Reply(text=...)`)."""
        with self._lock:
            self._replies.extend(Reply(text=r) if isinstance(r, str) else r for r in replies)
        return self

    def last(self, path: str) -> Request:
        """The last request to `path` (e.g. `"/api/chat"`)."""
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what the model says ------------------------------------------------------------------
    def _next_reply(self, body: Mapping[str, Any]) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        fmt = body.get("format")
        if isinstance(fmt, dict):
            return Reply(text=json.dumps(example_of(fmt)))
        if fmt == "json":
            return Reply(text='{"answer": "Neil Armstrong"}')
        return Reply(text=DEFAULT_ANSWER)

    def embed(self, text: str) -> list[float]:
        """The stand-in's embedding: hashed words, L2-normalised (texts sharing words are close)."""
        vector = [0.0] * self.embedding_dim
        for word in re.findall(r"\w+", text.lower()) or [""]:
            digest = hashlib.sha256(word.encode()).digest()
            vector[digest[0] % self.embedding_dim] += 1.0 + digest[1] / 255
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


def _full(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def example_of(schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> Any:
    """A small value matching a JSON schema (objects, arrays, enums, scalars, `$ref`)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return example_of(defs[str(schema["$ref"]).rsplit("/", 1)[-1]], defs)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return example_of(schema[key][0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: example_of(v, defs) for k, v in props.items()}
    if kind == "array":
        return [example_of(schema.get("items", {"type": "string"}), defs)]
    return {"integer": 1, "number": 1.5, "boolean": True, "null": None}.get(str(kind), "text")


def _prompt_tokens(body: Mapping[str, Any]) -> int:
    if "messages" in body:
        messages = body.get("messages") or []
        return sum(len(pieces(str(m.get("content") or ""))) + 4 for m in messages) + 1
    return len(pieces(str(body.get("prompt") or ""))) + 1


def _cut(text: str, options: Mapping[str, Any]) -> tuple[list[str], str]:
    """The tokens to send and the `done_reason`, after stop strings and `num_predict`."""
    reason = "stop"
    for stop in options.get("stop") or []:
        at = text.find(stop)
        if stop and at >= 0:
            text = text[:at]
    tokens = pieces(text)
    limit = options.get("num_predict")
    if isinstance(limit, int) and 0 <= limit < len(tokens):
        tokens, reason = tokens[:limit], "length"
    return tokens, reason


def _handler(server: OllamaTranscriptServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "OllamaTranscriptServer"

        def log_message(self, format: str, *args: Any) -> None:
            return

        # --- plumbing -------------------------------------------------------------------------
        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            data = json.loads(raw) if raw.strip() else {}
            server.requests.append(Request(self.command, self.path, data))
            return data if isinstance(data, dict) else {}

        def _json(self, status: int, data: Any) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _text(self, text: str) -> None:
            payload = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _stream(self, lines: Iterator[dict[str, Any] | None]) -> None:
            """Send NDJSON with chunked encoding; a None item drops the connection there."""
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in lines:
                if line is None:
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.close()
                    return
                data = (json.dumps(line) + "\n").encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def _not_found(self, model: str) -> None:
            self._json(404, {"error": f"model '{model}' not found"})

        def _known(self, name: str) -> bool:
            return _full(name) in server.models

        # --- routes ----------------------------------------------------------------------------
        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            server.requests.append(Request("GET", self.path))
            if self.path == "/":
                self._text("Ollama is running")
            elif self.path == "/api/version":
                self._json(200, {"version": VERSION})
            elif self.path == "/api/tags":
                self._json(200, {"models": [self._model_entry(m) for m in server.models]})
            elif self.path == "/api/ps":
                self._json(200, {"models": []})
            else:
                self._json(404, {"error": "404 page not found"})

        def do_POST(self) -> None:
            body = self._body()
            route = {
                "/api/generate": self._generate,
                "/api/chat": self._chat,
                "/api/embed": self._embed,
                "/api/show": self._show,
                "/api/pull": self._pull,
            }.get(self.path)
            if route is None:
                self._json(404, {"error": "404 page not found"})
            else:
                route(body)

        def _model_entry(self, name: str) -> dict[str, Any]:
            digest = hashlib.sha256(name.encode()).hexdigest()
            return {
                "name": name,
                "model": name,
                "modified_at": "2026-10-01T12:00:00.000000000Z",
                "size": 4_920_753_328,
                "digest": digest,
                "details": self._details(name),
            }

        @staticmethod
        def _details(name: str) -> dict[str, Any]:
            family = re.split(r"[:\d.]", name, maxsplit=1)[0] or "llama"
            return {
                "parent_model": "",
                "format": "gguf",
                "family": family,
                "families": [family],
                "parameter_size": "8.0B",
                "quantization_level": "Q4_K_M",
            }

        def _show(self, body: dict[str, Any]) -> None:
            name = str(body.get("model") or body.get("name") or "")
            if not self._known(name):
                self._not_found(name)
                return
            embedding = "embed" in name
            self._json(
                200,
                {
                    "modelfile": f"FROM {name}\n",
                    "parameters": 'stop "<|eot_id|>"',
                    "template": "{{ .Prompt }}",
                    "details": self._details(name),
                    "model_info": {
                        "general.architecture": "llama",
                        "general.parameter_count": 8_030_261_248,
                        "llama.context_length": 131072,
                        "llama.embedding_length": 4096,
                    },
                    "capabilities": ["embedding"] if embedding else ["completion", "tools"],
                    "modified_at": "2026-10-01T12:00:00.000000000Z",
                },
            )

        def _pull(self, body: dict[str, Any]) -> None:
            name = _full(str(body.get("model") or body.get("name") or ""))
            if server.pullable is not None and name not in server.pullable:
                self._json(500, {"error": "pull model manifest: file does not exist"})
                return
            digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
            total = 2_019_377_376
            steps: list[dict[str, Any]] = [{"status": "pulling manifest"}]
            for done in (0, total // 2, total):
                steps.append(
                    {"status": f"pulling {digest[7:19]}", "digest": digest, "total": total}
                    | ({"completed": done} if done else {})
                )
            steps += [
                {"status": "verifying sha256 digest"},
                {"status": "writing manifest"},
                {"status": "success"},
            ]
            if name not in server.models:
                server.models.append(name)
            if body.get("stream") is False:
                self._json(200, {"status": "success"})
            else:
                self._stream(iter(steps))

        def _embed(self, body: dict[str, Any]) -> None:
            name = str(body.get("model") or "")
            if not self._known(name):
                self._not_found(name)
                return
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
            count = sum(len(pieces(t)) for t in texts)
            self._json(
                200,
                {
                    "model": name,
                    "embeddings": [server.embed(t) for t in texts],
                    "total_duration": LOAD_NS + count * PROMPT_NS_PER_TOKEN,
                    "load_duration": LOAD_NS,
                    "prompt_eval_count": count,
                },
            )

        def _metrics(self, body: dict[str, Any], tokens: int) -> dict[str, Any]:
            prompt = _prompt_tokens(body)
            return {
                "total_duration": LOAD_NS
                + prompt * PROMPT_NS_PER_TOKEN
                + tokens * EVAL_NS_PER_TOKEN
                + 1_000_000,
                "load_duration": LOAD_NS,
                "prompt_eval_count": prompt,
                "prompt_eval_duration": prompt * PROMPT_NS_PER_TOKEN,
                "eval_count": tokens,
                "eval_duration": tokens * EVAL_NS_PER_TOKEN,
            }

        def _respond(self, body: dict[str, Any], chat: bool) -> None:
            name = str(body.get("model") or "")
            if not self._known(name):
                self._not_found(name)
                return
            if not chat and body.get("raw") and (body.get("system") or body.get("template")):
                self._json(400, {"error": "raw mode does not support template, system or context"})
                return
            reply = server._next_reply(body)
            tokens, reason = _cut(reply.text, body.get("options") or {})
            calls = reply.tool_calls if chat and body.get("tools") else None
            count = len(tokens) + (len(json.dumps(calls)) // 8 if calls else 0)
            base = {"model": name}

            def piece(text: str, **extra: Any) -> dict[str, Any]:
                if chat:
                    message: dict[str, Any] = {"role": "assistant", "content": text, **extra}
                    return base | {"created_at": _now(), "message": message, "done": False}
                return base | {"created_at": _now(), "response": text, "done": False} | extra

            def final() -> dict[str, Any]:
                done = piece("") | {"done": True, "done_reason": reason}
                if not chat and not body.get("raw"):
                    done["context"] = list(range(1, _prompt_tokens(body) + len(tokens) + 1))
                return done | self._metrics(body, count)

            if body.get("stream") is False:
                extra: dict[str, Any] = {}
                if calls:
                    extra["tool_calls"] = calls
                if reply.thinking:
                    extra["thinking"] = reply.thinking
                whole = piece("".join(tokens), **extra) | {"done": True, "done_reason": reason}
                if not chat and not body.get("raw"):
                    whole["context"] = final()["context"]
                self._json(200, whole | self._metrics(body, count))
                return

            def lines() -> Iterator[dict[str, Any] | None]:
                if reply.thinking:
                    yield piece("", thinking=reply.thinking)
                for sent, token in enumerate(tokens):
                    if reply.drop_after is not None and sent >= reply.drop_after:
                        yield None
                        return
                    if reply.error_after is not None and sent >= reply.error_after:
                        yield {"error": reply.error}
                        return
                    if reply.delay:
                        time.sleep(reply.delay)
                    yield piece(token)
                if reply.drop_after is not None:
                    yield None
                    return
                if reply.error_after is not None:
                    yield {"error": reply.error}
                    return
                if calls:
                    yield piece("", tool_calls=calls)
                yield final()

            self._stream(lines())

        def _generate(self, body: dict[str, Any]) -> None:
            self._respond(body, chat=False)

        def _chat(self, body: dict[str, Any]) -> None:
            self._respond(body, chat=True)

    return Handler


__all__ = ["DEFAULT_MODEL", "OllamaTranscriptServer", "Reply", "Request", "example_of", "pieces"]

"""An Ollama stand-in on loopback that replays API transcripts, for tests without Ollama.

`OllamaTranscriptServer` is a real HTTP server (127.0.0.1, a free port, one thread per
connection) that answers the Ollama REST API the way Ollama does, field for field, so the real
`ollama` client and langchain-ollama code run unmodified against it.

Sources of the shapes (recorded by hand, not generated):

- ollama/ollama `docs/api.md` (read at HEAD fb30760 and at 01e52d2): "Generate a completion"
  (streamed objects, the final `done: true` object with `done_reason`, `context` and the
  metrics, "Load a model", "Unload a model", raw mode without `context`), "Generate a chat
  completion" (the same for `message`, tool calls with `arguments` as a JSON object),
  "Generate Embeddings", "List Local Models", "Show Model Information", "Pull a Model" (the
  progress objects, `completed` absent until bytes arrive), "List Running Models", "Version".
- ollama/ollama `docs/api/errors.mdx` and `server/routes.go`: a 404 `{"error": "model 'x' not
  found"}` from `/api/generate`, `/api/chat` and `/api/show`; `model "x" not found, try
  pulling it first` from the scheduler (`/api/embed`); an error raised before any output is
  an HTTP status with `{"error": ...}` (500 unless the runner says otherwise), one raised
  after output is an `{"error": ...}` line inside the 200 stream (`streamResponse`); a
  `"stream": false` request gets the error as a status; raw mode with `system`/`template` is
  a 400; tool calls carry an `id` (`call_` + 8 characters) and `function.index`.

Endpoints:

- `POST /api/generate` and `POST /api/chat`: NDJSON streams (`application/x-ndjson`), one
  object per token (`response` / `message.content`), reasoning in `thinking`, tool calls in a
  `done: false` object, a final `done: true` object with `done_reason` and the metrics in
  nanoseconds (`total_duration`, `load_duration`, `prompt_eval_count`,
  `prompt_eval_duration`, `eval_count`, `eval_duration`; `/api/generate` adds `context`
  unless `raw`); `"stream": false` gives one `application/json` object. An empty prompt (or
  empty `messages`) loads the model (`done_reason: "load"`), with `keep_alive: 0` unloads it.
- `POST /api/embed`, `GET /api/tags`, `POST /api/show`, `POST /api/pull` (progress objects
  ending in `{"status": "success"}`), `GET /api/ps` (the models used and not unloaded),
  `GET /api/version`, `GET /` and `HEAD /`.

What the model "says" is scripted: queue `Reply`s with `reply()`, for any request or only for
one model and/or endpoint; without one, a fixed answer (or, for a `format` JSON schema, a
small instance of the schema). Stop strings (`options.stop`) and `options.num_predict` are
honoured as Ollama does. Token counts are whitespace-led words; durations are fixed per token,
so figures are deterministic. Faults are scripted too: `Reply(error_after=n)` sends an
`{"error": ...}` line after `n` tokens (`n=0`: an HTTP error status instead, as Ollama does
before any output), `Reply(drop_after=n)` closes the connection mid-reply. Every request is
recorded in `requests` (method, path, JSON body) for assertions.

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
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
            The server adds what Ollama adds: an `id` (`call_` + 8 characters) and
            `function.index`.
        thinking: Reasoning text, sent before the answer (`message.thinking` / `thinking`).
        error_after: Fail after this many tokens: an `{"error": error}` line in the 200 stream
            when tokens were sent, else (0, or `"stream": false`) an HTTP `status`.
        error: The message of that error.
        status: The HTTP status of an error raised before any output.
        drop_after: Close the connection after this many tokens (no final object; with
            `"stream": false`, no response at all).
        delay: Seconds to wait before each streamed object.
    """

    text: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    thinking: str | None = None
    error_after: int | None = None
    error: str = "an error was encountered while running the model: unexpected EOF"
    status: int = 500
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
        loaded: The models "in memory" (`/api/ps`): used since the start and not unloaded.
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
        self.loaded: dict[str, int] = {}
        self._replies: list[tuple[str | None, str | None, Reply]] = []
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

    def reply(
        self, *replies: Reply | str, model: str | None = None, path: str | None = None
    ) -> Self:
        """Queue answers for the next generate/chat requests (a string is `Reply(text=...)`).

        Args:
            *replies: The answers, used once each, in order.
            model: Only for requests to this model (`"llama3.1:8b"`; no tag means `latest`).
            path: Only for this endpoint (`"/api/chat"` or `"/api/generate"`).

        Returns:
            The server, so calls chain.
        """
        if path is not None and path not in _MODEL_PATHS:
            raise ValueError(f"replies are for {' or '.join(_MODEL_PATHS)}, not {path!r}")
        name = _full(model) if model is not None else None
        with self._lock:
            self._replies.extend(
                (name, path, Reply(text=r) if isinstance(r, str) else r) for r in replies
            )
        return self

    def pending(self) -> int:
        """How many queued replies have not been used yet."""
        with self._lock:
            return len(self._replies)

    def requests_to(self, path: str) -> list[Request]:
        """Every request to `path` (e.g. `"/api/chat"`), in order."""
        return [request for request in self.requests if request.path == path]

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
    def _next_reply(self, body: Mapping[str, Any], path: str) -> Reply:
        name = _full(str(body.get("model") or ""))
        with self._lock:
            for i, (model, only, reply) in enumerate(self._replies):
                if model in (None, name) and only in (None, path):
                    del self._replies[i]
                    return reply
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
        return _normalised(vector)


_MODEL_PATHS = ("/api/generate", "/api/chat")
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


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


def _is_zero(keep_alive: Any) -> bool:
    """`keep_alive: 0` (a number of seconds or a Go duration such as `"0s"`): unload now."""
    if isinstance(keep_alive, int | float) and not isinstance(keep_alive, bool):
        return keep_alive == 0
    return isinstance(keep_alive, str) and re.fullmatch(r"0+(\.0*)?[a-z]*", keep_alive) is not None


def _tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls as Ollama sends them: an `id` per call and the function's `index`."""
    out = []
    for i, call in enumerate(calls):
        function = {"index": i, **call.get("function", {})}
        ident = "call_" + "".join(_ID_CHARS[b % len(_ID_CHARS)] for b in secrets.token_bytes(8))
        out.append({"id": ident, **call, "function": function})
    return out


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

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8")

        def _text(self, text: str, status: int = 200) -> None:
            self._send(status, text.encode(), "text/plain; charset=utf-8")

        def _drop(self) -> None:
            """Close the connection without another byte (a crashed or killed server)."""
            self.wfile.flush()
            self.close_connection = True
            self.connection.close()

        def _stream(self, lines: Iterator[dict[str, Any] | None]) -> None:
            """Send NDJSON with chunked encoding; a None item drops the connection there."""
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in lines:
                if line is None:
                    self._drop()
                    return
                data = (json.dumps(line) + "\n").encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def _known(self, name: str) -> bool:
            return _full(name) in server.models

        # --- routes ----------------------------------------------------------------------------
        def do_HEAD(self) -> None:
            server.requests.append(Request("HEAD", self.path))
            if self.path in ("/", "/api/version"):
                self._get_route()
            else:
                self._text("404 page not found", 404)

        def do_GET(self) -> None:
            server.requests.append(Request("GET", self.path))
            self._get_route()

        def _get_route(self) -> None:
            if self.path == "/":
                self._text("Ollama is running")
            elif self.path == "/api/version":
                self._json(200, {"version": VERSION})
            elif self.path == "/api/tags":
                self._json(200, {"models": [self._model_entry(m) for m in server.models]})
            elif self.path == "/api/ps":
                self._json(
                    200, {"models": [self._ps_entry(m, n) for m, n in server.loaded.items()]}
                )
            else:
                self._text("404 page not found", 404)

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
                self._text("404 page not found", 404)
            else:
                route(body)

        # --- model information ----------------------------------------------------------------
        def _model_entry(self, name: str) -> dict[str, Any]:
            return {
                "name": name,
                "model": name,
                "modified_at": "2026-10-01T12:00:00.000000000Z",
                "size": 4_920_753_328,
                "digest": hashlib.sha256(name.encode()).hexdigest(),
                "details": self._details(name),
            }

        def _ps_entry(self, name: str, context_length: int) -> dict[str, Any]:
            expires = datetime.now(UTC) + timedelta(minutes=5)
            return {
                "name": name,
                "model": name,
                "size": 6_654_289_920,
                "digest": hashlib.sha256(name.encode()).hexdigest(),
                "details": self._details(name),
                "expires_at": expires.isoformat().replace("+00:00", "Z"),
                "size_vram": 6_654_289_920,
                "context_length": context_length,
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
            if not name:
                self._json(400, {"error": "model is required"})
                return
            if not self._known(name):
                self._json(404, {"error": f"model '{name}' not found"})
                return
            embedding = "embed" in name
            self._json(
                200,
                {
                    "modelfile": f'# Modelfile generated by "ollama show"\nFROM {name}\n',
                    "parameters": 'stop                           "<|eot_id|>"',
                    "template": "{{ .Prompt }}",
                    "details": self._details(name),
                    "model_info": {
                        "general.architecture": "llama",
                        "general.parameter_count": 8_030_261_248,
                        "llama.context_length": 131072,
                        "llama.embedding_length": 4096,
                        "tokenizer.ggml.tokens": [],
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
                {"status": "removing any unused layers"},
                {"status": "success"},
            ]
            if name not in server.models:
                server.models.append(name)
            if body.get("stream") is False:
                self._json(200, {"status": "success"})
            else:
                self._stream(iter(steps))

        # --- inference ------------------------------------------------------------------------
        def _loaded(self, name: str, body: Mapping[str, Any]) -> None:
            """Track `/api/ps`: a model stays loaded unless the request said `keep_alive: 0`."""
            if _is_zero(body.get("keep_alive")):
                server.loaded.pop(_full(name), None)
            else:
                options = body.get("options") or {}
                server.loaded[_full(name)] = int(options.get("num_ctx") or 4096)

        def _embed(self, body: dict[str, Any]) -> None:
            name = str(body.get("model") or "")
            if not self._known(name):
                # the scheduler's wording (`handleScheduleError` in server/routes.go)
                self._json(404, {"error": f'model "{name}" not found, try pulling it first'})
                return
            self._loaded(name, body)
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) and inputs else list(inputs or [])
            dimensions = body.get("dimensions")
            vectors = [server.embed(t) for t in texts]
            if isinstance(dimensions, int) and 0 < dimensions < server.embedding_dim:
                vectors = [_normalised(v[:dimensions]) for v in vectors]
            count = sum(len(pieces(t)) for t in texts)
            self._json(
                200,
                {
                    "model": name,
                    "embeddings": vectors,
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
                self._json(404, {"error": f"model '{name}' not found"})
                return
            raw = not chat and bool(body.get("raw"))
            if raw and (body.get("system") or body.get("template") or body.get("context")):
                message = "raw mode does not support template, system, or context"
                self._json(400, {"error": message})
                return
            if not (body.get("messages") if chat else body.get("prompt")):
                self._load_or_unload(name, body, chat)
                return
            self._loaded(name, body)
            reply = server._next_reply(body, "/api/chat" if chat else "/api/generate")
            tokens, reason = _cut(reply.text, body.get("options") or {})
            calls = None  # a model calls tools only when the request offers some
            if chat and body.get("tools") and reply.tool_calls:
                calls = _tool_calls(reply.tool_calls)
            count = len(tokens) + (len(json.dumps(calls)) // 8 if calls else 0)
            streaming = body.get("stream") is not False

            def piece(text: str, **extra: Any) -> dict[str, Any]:
                head = {"model": name, "created_at": _now()}
                if chat:
                    message: dict[str, Any] = {"role": "assistant", "content": text, **extra}
                    return head | {"message": message, "done": False}
                return head | {"response": text, "done": False} | extra

            def final(text: str = "", **extra: Any) -> dict[str, Any]:
                done = piece(text, **extra) | {"done": True, "done_reason": reason}
                if not chat and not raw:
                    done["context"] = list(range(1, _prompt_tokens(body) + len(tokens) + 1))
                return done | self._metrics(body, count)

            if reply.error_after is not None and (reply.error_after == 0 or not streaming):
                self._json(reply.status, {"error": reply.error})
                return
            if not streaming:
                if reply.drop_after is not None:
                    self._drop()
                    return
                extra: dict[str, Any] = {}
                if calls:
                    extra["tool_calls"] = calls
                if reply.thinking:
                    extra["thinking"] = reply.thinking
                self._json(200, final("".join(tokens), **extra))
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

        def _load_or_unload(self, name: str, body: dict[str, Any], chat: bool) -> None:
            """An empty prompt (or no messages) loads the model; with `keep_alive: 0`, unloads."""
            self._loaded(name, body)
            reason = "unload" if _is_zero(body.get("keep_alive")) else "load"
            head: dict[str, Any] = {"model": name, "created_at": _now()}
            if chat:
                head["message"] = {"role": "assistant", "content": ""}
            else:
                head["response"] = ""
            self._json(200, head | {"done": True, "done_reason": reason})

        def _generate(self, body: dict[str, Any]) -> None:
            self._respond(body, chat=False)

        def _chat(self, body: dict[str, Any]) -> None:
            self._respond(body, chat=True)

    return Handler


def _normalised(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


__all__ = ["DEFAULT_MODEL", "OllamaTranscriptServer", "Reply", "Request", "example_of", "pieces"]

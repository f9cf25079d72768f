"""The HTTP side of the Ollama stand-in: each request routed to the answer Ollama would give."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from langchain_localkit.testing.ollama_transcript import (
    LOAD_NS,
    PROMPT_NS_PER_TOKEN,
    VERSION,
    Request,
    cut,
    full_name,
    metrics,
    model_entry,
    normalised,
    pieces,
    prompt_tokens,
    ps_entry,
    pull_steps,
    show_info,
    thinks,
    timestamp,
    tool_calls,
    unloads,
)

if TYPE_CHECKING:
    from langchain_localkit.testing.ollama_server import OllamaTranscriptServer


def make_handler(server: OllamaTranscriptServer) -> type[BaseHTTPRequestHandler]:
    """A request handler class answering for `server` (its models, replies and records)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "OllamaTranscriptServer"

        def log_message(self, format: str, *args: Any) -> None:
            return

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
            return full_name(name) in server.models

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
                self._json(200, {"models": [model_entry(m) for m in server.models]})
            elif self.path == "/api/ps":
                self._json(200, {"models": [ps_entry(m, n) for m, n in server.loaded.items()]})
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

        def _show(self, body: dict[str, Any]) -> None:
            name = str(body.get("model") or body.get("name") or "")
            if not name:
                self._json(400, {"error": "model is required"})
            elif not self._known(name):
                self._json(404, {"error": f"model '{name}' not found"})
            else:
                self._json(200, show_info(name) | server.shown.get(full_name(name), {}))

        def _pull(self, body: dict[str, Any]) -> None:
            name = full_name(str(body.get("model") or body.get("name") or ""))
            if server.pullable is not None and name not in server.pullable:
                self._json(500, {"error": "pull model manifest: file does not exist"})
                return
            if name not in server.models:
                server.models.append(name)
            if body.get("stream") is False:
                self._json(200, {"status": "success"})
            else:
                self._stream(iter(pull_steps(name)))

        def _loaded(self, name: str, body: Mapping[str, Any]) -> None:
            """Track `/api/ps`: a model stays loaded unless the request said `keep_alive: 0`."""
            if unloads(body.get("keep_alive")):
                server.loaded.pop(full_name(name), None)
            else:
                options = body.get("options") or {}
                server.loaded[full_name(name)] = int(options.get("num_ctx") or 4096)

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
                vectors = [normalised(v[:dimensions]) for v in vectors]
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
            reply = server.next_reply(body, "/api/chat" if chat else "/api/generate")
            thoughts = pieces(reply.thinking) if reply.thinking and thinks(body, name) else []
            tokens, reason = cut(reply.text, body.get("options") or {}, thoughts)
            calls = None  # a model calls tools only when the request offers some
            if chat and body.get("tools") and reply.tool_calls:
                calls = tool_calls(reply.tool_calls)
            count = len(thoughts) + len(tokens) + (len(json.dumps(calls)) // 8 if calls else 0)
            streaming = body.get("stream") is not False

            def piece(text: str, **extra: Any) -> dict[str, Any]:
                head = {"model": name, "created_at": timestamp()}
                if chat:
                    message: dict[str, Any] = {"role": "assistant", "content": text, **extra}
                    return head | {"message": message, "done": False}
                return head | {"response": text, "done": False} | extra

            def final(text: str = "", **extra: Any) -> dict[str, Any]:
                done = piece(text, **extra) | {"done": True, "done_reason": reason}
                if not chat and not raw:
                    done["context"] = list(range(1, prompt_tokens(body) + len(tokens) + 1))
                return done | metrics(body, count)

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
                if thoughts:
                    extra["thinking"] = "".join(thoughts)
                self._json(200, final("".join(tokens), **extra))
                return

            def lines() -> Iterator[dict[str, Any] | None]:
                for thought in thoughts:
                    if reply.delay:
                        time.sleep(reply.delay)
                    yield piece("", thinking=thought)
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
            reason = "unload" if unloads(body.get("keep_alive")) else "load"
            head: dict[str, Any] = {"model": name, "created_at": timestamp()}
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


__all__ = ["make_handler"]

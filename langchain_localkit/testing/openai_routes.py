"""The HTTP side of the OpenAI-compatible stand-in: requests answered as vLLM or LM Studio would.

A generation is planned once (`plan`: reasoning and answer tokens, tool calls, finish reason,
usage), then written as the flavour's stream chunks or its one response object.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from langchain_localkit.testing.ollama_transcript import normalised, pieces
from langchain_localkit.testing.openai_transcript import (
    LMSTUDIO_JSON_OBJECT,
    VLLM_VERSION,
    Flavor,
    Reply,
    Request,
    arguments,
    context_error,
    default_text,
    error_body,
    forced_call,
    lmstudio_v0_entry,
    model_entry,
    now,
    prompt_tokens,
    response_id,
    stop_at,
    stream_error,
    token_limit,
    tool_call_id,
    unknown_model,
    usage,
)

if TYPE_CHECKING:
    from langchain_localkit.testing.openai_server import OpenAICompatServer


def _compact(data: Any) -> str:
    """JSON as both servers write it (pydantic / starlette / `JSON.stringify`): no spaces."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


_DROP = object()
"""A stream item meaning: close the connection here."""


@dataclass
class Plan:
    """What one generation sends: reasoning and answer tokens, calls, and how it ended."""

    reasoning: list[str]
    content: list[str]
    calls: list[dict[str, str]] = field(default_factory=list)
    finish_reason: str = "stop"
    stop_reason: str | None = None
    prompt: int = 0

    @property
    def completion(self) -> int:
        """Generated tokens: reasoning, answer, and each call's argument words plus one."""
        called = sum(len(pieces(c["arguments"])) + 1 for c in self.calls)
        return len(self.reasoning) + len(self.content) + called


def plan(flavor: Flavor, body: Mapping[str, Any], reply: Reply, chat: bool) -> Plan:
    """Apply the request's tools, tool choice, stop strings and token limit to a reply."""
    offered = chat and bool(body.get("tools")) and body.get("tool_choice") != "none"
    calls = [dict(c) for c in reply.tool_calls] if offered else []
    if offered and not calls and (forced := forced_call(body)) is not None:
        calls = [forced]
    text = reply.text if reply.text is not None else ("" if calls else default_text(body))
    text, stop = stop_at(text, body.get("stop"))
    out = Plan(pieces(reply.reasoning or "") if chat else [], pieces(text), prompt=0)
    out.calls = [
        {"id": tool_call_id(flavor), "name": str(c.get("name")), "arguments": arguments(c)}
        for c in calls
    ]
    out.prompt = prompt_tokens(body)
    limit = token_limit(body)
    named = isinstance(body.get("tool_choice"), Mapping)
    if limit is not None and len(out.reasoning) + len(out.content) > limit:
        out.reasoning = out.reasoning[:limit]
        out.content = out.content[: max(0, limit - len(out.reasoning))]
        out.finish_reason = "length"
    elif out.calls:
        out.finish_reason = "stop" if flavor == "vllm" and named else "tool_calls"
    out.stop_reason = stop if flavor == "vllm" and out.finish_reason == "stop" else None
    out.finish_reason = reply.finish_reason or out.finish_reason
    return out


def chat_usage(flavor: Flavor, p: Plan, reply: Reply, final: bool = False) -> dict[str, Any]:
    """A chat answer's `usage`, with the reasoning tokens when the reply says to count them."""
    out = usage(p.prompt, p.completion, flavor, final)
    if reply.reasoning_tokens:
        out["completion_tokens_details"] = {"reasoning_tokens": len(p.reasoning)}
    return out


def _deltas(flavor: Flavor, p: Plan, reasoning_field: str) -> list[dict[str, Any]]:
    """The token-bearing chat deltas, in order: reasoning, answer, tool calls."""
    role: dict[str, Any] = {"role": "assistant"} if flavor == "lmstudio" else {}
    out: list[dict[str, Any]] = [role | {reasoning_field: t} for t in p.reasoning]
    out += [role | {"content": t} for t in p.content]
    for i, call in enumerate(p.calls):
        function: dict[str, Any] = {"name": call["name"]}
        if flavor == "lmstudio":
            function["arguments"] = ""
        head = {"index": i, "id": call["id"], "type": "function", "function": function}
        out.append(role | {"tool_calls": [head]})
        out += [
            role | {"tool_calls": [{"index": i, "function": {"arguments": piece}}]}
            for piece in pieces(call["arguments"])
        ]
    return out


def chat_message(flavor: Flavor, p: Plan, body: Mapping[str, Any], field_: str) -> dict[str, Any]:
    """The non-streamed `message`."""
    text = "".join(p.content)
    calls = [
        {
            "id": c["id"],
            "type": "function",
            "function": {"name": c["name"], "arguments": c["arguments"]},
        }
        for c in p.calls
    ]
    reasoning = "".join(p.reasoning) or None
    if flavor == "lmstudio":
        message: dict[str, Any] = {"role": "assistant"}
        if text or not calls:
            message["content"] = text
        if reasoning:
            message[field_] = reasoning
        return message | ({"tool_calls": calls} if calls else {})
    forced = body.get("tool_choice") == "required" or isinstance(body.get("tool_choice"), Mapping)
    content: str | None = text if not calls or forced else (text or None)
    message = {
        "role": "assistant",
        "content": content,
        "refusal": None,
        "annotations": None,
        "audio": None,
        "function_call": None,
    }
    return message | ({"tool_calls": calls} if calls else {}) | {field_: reasoning}


def make_handler(server: OpenAICompatServer) -> type[BaseHTTPRequestHandler]:
    """A request handler class answering for `server` (its flavour, models, replies, records)."""
    flavor = server.flavor

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "uvicorn" if flavor == "vllm" else "LMStudio"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _record(self, body: dict[str, Any] | None = None) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.requests.append(Request(self.command, self.path, body or {}, headers))

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _json(self, status: int, data: Any) -> None:
            self._send(status, _compact(data).encode(), "application/json")

        def _error(self, status: int, body: Any) -> None:
            self._json(status, error_body(flavor, status, body) if isinstance(body, str) else body)

        def _not_found(self) -> None:
            if flavor == "vllm":
                self._json(404, {"detail": "Not Found"})
            else:
                self._json(
                    404, {"error": f"Unexpected endpoint or method. ({self.command} {self.path})"}
                )

        def _drop(self) -> None:
            self.wfile.flush()
            self.close_connection = True
            self.connection.close()

        def _sse(self, events: Iterator[Any], delay: float) -> None:
            """Send `data: ...` events, chunked, then `data: [DONE]`; `_DROP` closes instead."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in [*events, "[DONE]"]:
                if event is _DROP:
                    self._drop()
                    return
                if delay:
                    time.sleep(delay)
                text = event if isinstance(event, str) else _compact(event)
                data = f"data: {text}\n\n".encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def do_GET(self) -> None:
            self._record()
            names = server.models
            if self.path == "/v1/models":
                entries = [model_entry(flavor, m, server.max_model_len) for m in names]
                self._json(200, {"object": "list", "data": entries})
            elif flavor == "vllm" and self.path == "/health":
                self._send(200, b"", "application/json")
            elif flavor == "vllm" and self.path == "/version":
                self._json(200, {"version": VLLM_VERSION})
            elif flavor == "lmstudio" and self.path == "/api/v0/models":
                entries = [
                    lmstudio_v0_entry(m, server.max_model_len, m in server.loaded) for m in names
                ]
                self._json(200, {"object": "list", "data": entries})
            else:
                self._not_found()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                data = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError as exc:
                self._record()
                self._error(400, f"JSON decode error: {exc}")
                return
            body = data if isinstance(data, dict) else {}
            self._record(body)
            route = {
                "/v1/chat/completions": self._chat,
                "/v1/completions": self._completions,
                "/v1/embeddings": self._embeddings,
            }.get(self.path)
            if route is None:
                self._not_found()
            else:
                route(body)

        def _model(self, body: dict[str, Any]) -> str | None:
            """The model the request names (none: the first), or None after sending the error."""
            name = str(body.get("model") or "") or server.model
            if name not in server.models:
                self._error(*unknown_model(flavor, name, server.models))
                return None
            server.loaded.add(name)
            return name

        def _checked(self, body: dict[str, Any], path: str) -> tuple[str, Reply] | None:
            """Validation, the model, the scripted reply and its pre-output error, the context."""
            if flavor == "vllm" and body.get("stream_options") and not body.get("stream"):
                message = "Stream options can only be defined when `stream=True`."
                self._json(400, error_body(flavor, 400, message, "stream_options"))
                return None
            fmt = body.get("response_format")
            if flavor == "lmstudio" and isinstance(fmt, dict) and fmt.get("type") == "json_object":
                self._json(400, {"error": LMSTUDIO_JSON_OBJECT})
                return None
            name = self._model(body)
            if name is None:
                return None
            reply = server.next_reply(path, name)
            if reply.error is not None and reply.error_after is None:
                self._error(*reply.error)
                return None
            overflow = context_error(
                flavor, prompt_tokens(body), token_limit(body), server.max_model_len
            )
            if overflow is not None:
                self._error(*overflow)
                return None
            return name, reply

        def _failed(self, reply: Reply, streaming: bool) -> bool:
            """A non-streamed reply scripted to fail or drop: answered here, True."""
            if streaming:
                return False
            if reply.drop_after is not None:
                self._drop()
                return True
            if reply.error_after is not None:
                message = reply.error[1] if reply.error else None
                self._json(500, stream_error(flavor, message if isinstance(message, str) else None))
                return True
            return False

        def _events(self, reply: Reply, items: list[Any], tail: list[Any]) -> Iterator[Any]:
            """Token events with the scripted error or drop after `n` of them, then the tail."""
            for sent, item in enumerate(items):
                if reply.drop_after is not None and sent >= reply.drop_after:
                    yield _DROP
                    return
                if reply.error_after is not None and sent >= reply.error_after:
                    break
                yield item
            if reply.drop_after is not None:
                yield _DROP
            elif reply.error_after is not None:
                message = reply.error[1] if reply.error else None
                yield stream_error(flavor, message if isinstance(message, str) else None)
            else:
                yield from tail

        def _chat(self, body: dict[str, Any]) -> None:
            checked = self._checked(body, "/v1/chat/completions")
            if checked is None:
                return
            name, reply = checked
            field_ = server.reasoning_field
            p = plan(flavor, body, reply, chat=True)
            streaming = bool(body.get("stream"))
            if self._failed(reply, streaming):
                return
            head = {"id": response_id(flavor, "chat"), "created": now(), "model": name}
            if not streaming:
                choice: dict[str, Any] = {
                    "index": 0,
                    "message": chat_message(flavor, p, body, field_),
                    "logprobs": None,
                    "finish_reason": p.finish_reason,
                }
                out = {"id": head["id"], "object": "chat.completion"} | head
                if flavor == "lmstudio":
                    out |= {"choices": [choice], "usage": chat_usage(flavor, p, reply)}
                    self._json(200, out | {"stats": {}, "system_fingerprint": name})
                    return
                choice |= {"stop_reason": p.stop_reason, "token_ids": None}
                self._json(
                    200,
                    out
                    | {"choices": [choice], "service_tier": None, "system_fingerprint": None}
                    | {"usage": chat_usage(flavor, p, reply, final=True)}
                    | {"prompt_logprobs": None, "prompt_token_ids": None}
                    | {"kv_transfer_params": None},
                )
                return
            envelope = {"id": head["id"], "object": "chat.completion.chunk"} | head
            if flavor == "lmstudio":
                envelope["system_fingerprint"] = name

            def chunk(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
                choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}
                if flavor == "vllm" and "role" not in delta:
                    choice["token_ids"] = None
                return envelope | {"choices": [choice | extra]}

            items = [chunk(d) for d in _deltas(flavor, p, field_)]
            last: dict[str, Any] = {} if p.calls or flavor == "lmstudio" else {"content": ""}
            finish = chunk(last, finish_reason=p.finish_reason)
            if flavor == "vllm":
                finish["choices"][0] |= {"stop_reason": p.stop_reason, "token_ids": None}
            tail = [finish]
            if (body.get("stream_options") or {}).get("include_usage"):
                tail.append(envelope | {"choices": [], "usage": chat_usage(flavor, p, reply)})
            first = [chunk({"role": "assistant", "content": ""})] if flavor == "vllm" else []
            self._sse(iter(first + list(self._events(reply, items, tail))), reply.delay)

        def _completions(self, body: dict[str, Any]) -> None:
            checked = self._checked(body, "/v1/completions")
            if checked is None:
                return
            name, reply = checked
            p = plan(flavor, body, reply, chat=False)
            streaming = bool(body.get("stream"))
            if self._failed(reply, streaming):
                return
            head: dict[str, Any] = {"id": response_id(flavor, "completion")}
            head["object"] = "text_completion"
            head |= {"created": now(), "model": name}

            def choice(text: str, reason: str | None, stop: str | None) -> dict[str, Any]:
                out = {"index": 0, "text": text, "logprobs": None, "finish_reason": reason}
                if flavor == "vllm":
                    out |= {"stop_reason": stop, "prompt_token_ids": None, "token_ids": None}
                return out

            if not streaming:
                one = choice("".join(p.content), p.finish_reason, p.stop_reason)
                if flavor == "lmstudio":
                    out = head | {"choices": [one], "usage": usage(p.prompt, p.completion, flavor)}
                    self._json(200, out | {"stats": {}})
                    return
                one["prompt_logprobs"] = None
                self._json(
                    200,
                    head
                    | {"choices": [one], "service_tier": None, "system_fingerprint": None}
                    | {"usage": usage(p.prompt, p.completion, flavor, final=True)}
                    | {"kv_transfer_params": None},
                )
                return
            items = [head | {"choices": [choice(t, None, None)]} for t in p.content]
            tail = [head | {"choices": [choice("", p.finish_reason, p.stop_reason)]}]
            if (body.get("stream_options") or {}).get("include_usage"):
                tail.append(head | {"choices": [], "usage": usage(p.prompt, p.completion, flavor)})
            self._sse(self._events(reply, items, tail), reply.delay)

        def _embeddings(self, body: dict[str, Any]) -> None:
            name = self._model(body)
            if name is None:
                return
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs or []]
            vectors = [server.embed(t) for t in texts]
            dimensions = body.get("dimensions")
            if isinstance(dimensions, int) and 0 < dimensions < server.embedding_dim:
                vectors = [normalised(v[:dimensions]) for v in vectors]
            data = [
                {"index": i, "object": "embedding", "embedding": v} for i, v in enumerate(vectors)
            ]
            if flavor == "lmstudio":
                zero = {"prompt_tokens": 0, "total_tokens": 0}
                self._json(200, {"object": "list", "data": data, "model": name, "usage": zero})
                return
            count = sum(len(t.split()) for t in texts)
            head: dict[str, Any] = {"id": response_id(flavor, "embedding"), "object": "list"}
            head["created"] = now()
            self._json(
                200, head | {"model": name, "data": data, "usage": usage(count, 0, flavor, True)}
            )

    return Handler


__all__ = ["Plan", "chat_message", "make_handler", "plan"]

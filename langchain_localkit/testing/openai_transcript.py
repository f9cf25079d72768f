"""What the OpenAI-compatible stand-in sends: vLLM's and LM Studio's objects, field for field.

Sources of the shapes (recorded by hand, not generated):

- vLLM (vllm-project/vllm, read at main in 2026): `entrypoints/openai/engine/protocol.py`
  (`ErrorResponse` = `{"error": {message, type, param, code}}`, `ModelCard` with
  `owned_by: "vllm"`, `root`, `parent`, `max_model_len`, `permission: [ModelPermission]`,
  `UsageInfo`); `chat_completion/protocol.py` (`ChatMessage` with `reasoning`, empty
  `tool_calls` dropped; `ChatCompletionResponse`; stream choices); `generate/base/protocol.py`
  (`DeltaMessage` with `reasoning`, `DeltaToolCall`, `ToolCall`); `chat_completion/serving.py`
  (first chunk `delta: {role, content: ""}`, chunks dumped with `exclude_unset`, the usage
  chunk with `choices: []` only for `stream_options.include_usage`, a mid-stream error as
  `data: {"error": ...}` followed by `data: [DONE]`, `finish_reason` `tool_calls` for
  auto/required calls and `stop` for a named one); `completion/serving.py` and
  `completion/protocol.py` (`text_completion` chunks with `stop_reason`); `engine/serving.py`
  (a 404 `NotFoundError`, `param: "model"`, "The model ... does not exist."; the context
  length messages of `_validate_input`); `models/serving.py`; `pooling/embed/protocol.py`
  (`embd-` ids); `chat_utils.make_tool_call_id` (`chatcmpl-tool-` + hex). Reasoning is
  `reasoning` since vllm-project/vllm#27752 (`reasoning_content` before).
- LM Studio (lmstudio-ai/docs at c6854fb, `1_developer/`): `3_openai-compat/tools.mdx`
  (non-streamed `tool_calls` with numeric ids and no `content`, `system_fingerprint` = the
  model, streamed tool-call deltas: first `{index, id, type, function: {name, arguments: ""}}`
  then argument pieces), `2_rest/endpoints.mdx` (`/api/v0/models` entries; embeddings usage
  reported as zeros), `api-changelog.md` (`stream_options.include_usage` since 0.3.18,
  `tool_choice` since 0.3.15, `reasoning_content` since 0.3.9, `reasoning` for gpt-oss since
  0.3.23). Issues: lmstudio-ai/lmstudio-bug-tracker#378 (chunk shape: `system_fingerprint`,
  `role` in every delta, `reasoning_content`), #189 and #307 (`{"error": "'response_format.type'
  must be 'json_schema' or 'text'"}` 400 for `json_object`), assafelovic/gpt-researcher#1556
  (400 `Invalid model identifier "x". Please specify a valid downloaded model (e.g., ...).` with
  `code: "model_not_found"`), lmstudio-bug-tracker#546 and anomalyco/opencode#2259 (the context
  overflow message); `/v1/models` entries carry `owned_by: "organization_owner"`.

Generated tokens are whitespace-led words (`ollama_transcript.pieces`); prompt tokens are the
words of every message (or of the prompt).
"""

from __future__ import annotations

import json
import secrets
import string
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_localkit.testing.ollama_transcript import example_of

Flavor = Literal["vllm", "lmstudio"]
FLAVORS: tuple[Flavor, ...] = ("vllm", "lmstudio")

DEFAULT_MODEL = "qwen3-4b"
DEFAULT_ANSWER = "The first man on the moon was Neil Armstrong, in 1969."
VLLM_VERSION = "0.13.0"
REASONING_FIELD: dict[Flavor, str] = {"vllm": "reasoning", "lmstudio": "reasoning_content"}
"""Where each flavour puts reasoning text (in `message` and in stream deltas)."""

LMSTUDIO_JSON_OBJECT = "'response_format.type' must be 'json_schema' or 'text'"
LMSTUDIO_OVERFLOW = (
    "The number of tokens to keep from the initial prompt is greater than the context length. "
    "Try to load the model with a larger context length, or provide a shorter input"
)
LMSTUDIO_CRASH = "The model has crashed without additional information. (Exit code: null)"


@dataclass
class Reply:
    """One scripted answer.

    Attributes:
        text: The answer, streamed one word at a time. None: the default (a small instance of
            a `json_schema` response format, a JSON object for `json_object`, nothing when the
            reply calls tools, else `DEFAULT_ANSWER`).
        reasoning: Reasoning text, sent before the answer in the flavour's field.
        tool_calls: `[{"name": "get_weather", "arguments": {"city": "Paris"}}]` (arguments a
            dict or a JSON string); returned only when the request offers tools.
        finish_reason: Overrides the computed one (`tool_calls`, `length`, else `stop`).
        error: `(status, body)`: answer with this HTTP error before any output. A `str` body is
            wrapped in the flavour's error object; a dict is sent as it is.
        error_after: Send the flavour's mid-stream error event after this many tokens (with
            `error`, its message); a non-streamed request gets a 500 instead.
        drop_after: Close the connection after this many tokens (non-streamed: no response).
        delay: Seconds to wait before each streamed token.
        reasoning_tokens: Report the reasoning tokens in the chat usage, as OpenAI's
            `completion_tokens_details.reasoning_tokens` (servers that count them do).
    """

    text: str | None = None
    reasoning: str | None = None
    tool_calls: Sequence[Mapping[str, Any]] = ()
    finish_reason: str | None = None
    error: tuple[int, Any] | None = None
    error_after: int | None = None
    drop_after: int | None = None
    delay: float = 0.0
    reasoning_tokens: bool = False


@dataclass
class Request:
    """A request the server received: method, path, JSON body and headers."""

    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def json(self) -> dict[str, Any]:
        """The JSON body (the same as `body`)."""
        return self.body


def now() -> int:
    """`created`: seconds since the epoch."""
    return int(time.time())


def _lm_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(21))


def response_id(flavor: Flavor, kind: Literal["chat", "completion", "embedding"]) -> str:
    """An `id` as the flavour writes it (`chatcmpl-<hex>` / `chatcmpl-<21 chars>`, ...)."""
    prefix = {"chat": "chatcmpl-", "completion": "cmpl-", "embedding": "embd-"}[kind]
    return prefix + (uuid.uuid4().hex if flavor == "vllm" else _lm_id())


def tool_call_id(flavor: Flavor) -> str:
    """A tool call `id`: vLLM's `chatcmpl-tool-<hex>`, LM Studio's 9 digits."""
    if flavor == "vllm":
        return f"chatcmpl-tool-{uuid.uuid4().hex}"
    return str(100_000_000 + secrets.randbelow(900_000_000))


def text_of(content: Any) -> str:
    """The text of a message `content` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping))
    return ""


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """Prompt tokens: the words of every message (chat) or of the prompt (completions)."""
    if "messages" in body:
        messages = body.get("messages") or []
        return sum(len(text_of(m.get("content")).split()) for m in messages if isinstance(m, dict))
    prompt = body.get("prompt")
    texts = prompt if isinstance(prompt, list) else [prompt]
    return sum(len(t.split()) for t in texts if isinstance(t, str))


def token_limit(body: Mapping[str, Any]) -> int | None:
    """`max_completion_tokens` or `max_tokens`; LM Studio's -1 (and any negative) is no limit."""
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    return limit if isinstance(limit, int) and limit >= 0 else None


def stop_at(text: str, stop: Any) -> tuple[str, str | None]:
    """`text` up to the first stop string (not included) and that stop string."""
    stops = [stop] if isinstance(stop, str) else [s for s in stop or [] if isinstance(s, str)]
    first: tuple[int, str | None] = (len(text), None)
    for s in stops:
        at = text.find(s) if s else -1
        if 0 <= at < first[0]:
            first = (at, s)
    return text[: first[0]], first[1]


def default_text(body: Mapping[str, Any]) -> str:
    """The answer without a scripted reply: a schema instance, a JSON object, or the default."""
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        return json.dumps(example_of(schema))
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_object":
        return '{"answer": "Neil Armstrong"}'
    return DEFAULT_ANSWER


def forced_call(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The call `tool_choice` forces (`required`: the first tool; named: that tool), if any."""
    tools = [t.get("function", {}) for t in body.get("tools") or [] if isinstance(t, Mapping)]
    choice = body.get("tool_choice")
    if not tools:
        return None
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        tool = next((t for t in tools if t.get("name") == name), None)
    elif choice == "required":
        tool = tools[0]
    else:
        return None
    if tool is None:
        return None
    params = tool.get("parameters") or {"type": "object", "properties": {}}
    return {"name": tool.get("name"), "arguments": example_of(params)}


def arguments(call: Mapping[str, Any]) -> str:
    """A call's arguments as the JSON string the wire carries."""
    args = call.get("arguments", {})
    return args if isinstance(args, str) else json.dumps(args)


def error_body(flavor: Flavor, status: int, message: str, param: str | None = None) -> Any:
    """The flavour's error object for an HTTP error."""
    if flavor == "vllm":
        kind = {400: "BadRequestError", 404: "NotFoundError", 501: "NotImplementedError"}.get(
            status, "InternalServerError" if status >= 500 else "BadRequestError"
        )
        return {"error": {"message": message, "type": kind, "param": param, "code": status}}
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def stream_error(flavor: Flavor, message: str | None) -> dict[str, Any]:
    """The error event a stream carries after output began (vLLM: `GenerationError`)."""
    default = "Internal server error" if flavor == "vllm" else LMSTUDIO_CRASH
    body = error_body(flavor, 500, message or default)
    return body if isinstance(body, dict) else {"error": body}


def unknown_model(flavor: Flavor, name: str, models: Sequence[str]) -> tuple[int, Any]:
    """The answer to a request for a model the server does not have."""
    if flavor == "vllm":
        return 404, error_body("vllm", 404, f"The model `{name}` does not exist.", "model")
    message = (
        f'Invalid model identifier "{name}". Please specify a valid downloaded model '
        f"(e.g., {', '.join(models[:3])})."
    )
    body = error_body("lmstudio", 400, message, "model")
    body["error"]["code"] = "model_not_found"
    return 400, body


def context_error(
    flavor: Flavor, prompt: int, limit: int | None, max_len: int
) -> tuple[int, Any] | None:
    """The 400 for a prompt (plus `max_tokens`) over the context, or None when it fits."""
    if flavor == "lmstudio":
        return (400, error_body(flavor, 400, LMSTUDIO_OVERFLOW)) if prompt > max_len else None
    if prompt >= max_len:
        message = (
            f"This model's maximum context length is {max_len} tokens. However, your request "
            f"has {prompt} input tokens. Please reduce the length of the input messages."
        )
        return 400, error_body(flavor, 400, message, "input_tokens")
    if limit is not None and prompt + limit > max_len:
        message = (
            f"'max_tokens' or 'max_completion_tokens' is too large: {limit}. This model's "
            f"maximum context length is {max_len} tokens and your request has {prompt} input "
            f"tokens ({limit} > {max_len} - {prompt})."
        )
        return 400, error_body(flavor, 400, message, "max_tokens")
    return None


def model_entry(flavor: Flavor, name: str, max_len: int) -> dict[str, Any]:
    """A model in `GET /v1/models`."""
    if flavor == "lmstudio":
        return {"id": name, "object": "model", "owned_by": "organization_owner"}
    created = now()
    permission = {
        "id": f"modelperm-{uuid.uuid4().hex}",
        "object": "model_permission",
        "created": created,
        "allow_create_engine": False,
        "allow_sampling": True,
        "allow_logprobs": True,
        "allow_search_indices": False,
        "allow_view": True,
        "allow_fine_tuning": False,
        "organization": "*",
        "group": None,
        "is_blocking": False,
    }
    return {
        "id": name,
        "object": "model",
        "created": created,
        "owned_by": "vllm",
        "root": name,
        "parent": None,
        "max_model_len": max_len,
        "permission": [permission],
    }


def lmstudio_v0_entry(name: str, max_len: int, loaded: bool) -> dict[str, Any]:
    """A model in LM Studio's `GET /api/v0/models` (an embedding model when named `embed`)."""
    embeds = "embed" in name
    entry: dict[str, Any] = {
        "id": name,
        "object": "model",
        "type": "embeddings" if embeds else "llm",
        "publisher": "lmstudio-community",
        "arch": "nomic-bert" if embeds else name.split("-", 1)[0],
        "compatibility_type": "gguf",
        "quantization": "Q4_K_M",
        "state": "loaded" if loaded else "not-loaded",
        "max_context_length": max_len,
    }
    if not embeds:
        entry["capabilities"] = ["tool_use"]
    return entry


def usage(prompt: int, completion: int, flavor: Flavor, final: bool = False) -> dict[str, Any]:
    """The `usage` object (vLLM's non-streamed one adds `prompt_tokens_details: null`)."""
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if flavor == "vllm" and final:
        out["prompt_tokens_details"] = None
    return out


__all__ = [
    "DEFAULT_ANSWER",
    "DEFAULT_MODEL",
    "FLAVORS",
    "LMSTUDIO_CRASH",
    "LMSTUDIO_JSON_OBJECT",
    "LMSTUDIO_OVERFLOW",
    "REASONING_FIELD",
    "VLLM_VERSION",
    "Flavor",
    "Reply",
    "Request",
    "arguments",
    "context_error",
    "default_text",
    "error_body",
    "forced_call",
    "lmstudio_v0_entry",
    "model_entry",
    "now",
    "prompt_tokens",
    "response_id",
    "stop_at",
    "stream_error",
    "text_of",
    "token_limit",
    "tool_call_id",
    "unknown_model",
    "usage",
]

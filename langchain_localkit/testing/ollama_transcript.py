"""What the Ollama stand-in sends: the API's objects, field for field, and the scripted replies.

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

Token counts are whitespace-led words; durations are fixed per token, so figures are
deterministic.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_MODEL = "llama3.1:8b"
DEFAULT_ANSWER = "The first man on the moon was Neil Armstrong, in 1969."
VERSION = "0.12.6"

LOAD_NS = 12_500_000
"""`load_duration` of every reply (12.5 ms)."""
PROMPT_NS_PER_TOKEN = 2_000_000
"""`prompt_eval_duration` per prompt token (2 ms: 500 tokens/s)."""
EVAL_NS_PER_TOKEN = 20_000_000
"""`eval_duration` per generated token (20 ms: 50 tokens/s)."""

MODEL_PATHS = ("/api/generate", "/api/chat")
"""The endpoints whose answers are scripted `Reply`s."""

_PIECE = re.compile(r"\s*\S+|\s+$")
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
_MODIFIED_AT = "2026-10-01T12:00:00.000000000Z"


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
        thinking: Reasoning text, streamed one word at a time before the answer
            (`message.thinking` / `thinking`) when the request lets the model think (see
            `thinks`); `"stream": false` sends it whole.
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


def full_name(name: str) -> str:
    """The model name with its tag (`"llama3.1"` is `"llama3.1:latest"`)."""
    return name if ":" in name else f"{name}:latest"


def timestamp() -> str:
    """Now, as Ollama writes `created_at` (UTC, with a `Z`)."""
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


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """`prompt_eval_count` of a generate or chat request."""
    if "messages" in body:
        messages = body.get("messages") or []
        return sum(len(pieces(str(m.get("content") or ""))) + 4 for m in messages) + 1
    return len(pieces(str(body.get("prompt") or ""))) + 1


def thinks(body: Mapping[str, Any], name: str) -> bool:
    """Whether a request lets a thinking model think (`think` absent, true or a level)."""
    return body.get("think") is not False or name.startswith("gpt-oss")


def cut(
    text: str, options: Mapping[str, Any], thoughts: list[str] | None = None
) -> tuple[list[str], str]:
    """The tokens to send and the `done_reason`, after stop strings and `num_predict`.

    `thoughts`: the thought tokens sent before the answer; `num_predict` counts them too, and
    they are cut to it in place.
    """
    reason = "stop"
    thoughts = thoughts if thoughts is not None else []
    for stop in options.get("stop") or []:
        at = text.find(stop)
        if stop and at >= 0:
            text = text[:at]
    tokens = pieces(text)
    limit = options.get("num_predict")
    if isinstance(limit, int) and 0 <= limit < len(thoughts) + len(tokens):
        del thoughts[limit:]
        tokens, reason = tokens[: limit - len(thoughts)], "length"
    return tokens, reason


def unloads(keep_alive: Any) -> bool:
    """`keep_alive: 0` (a number of seconds or a Go duration such as `"0s"`): unload now."""
    if isinstance(keep_alive, int | float) and not isinstance(keep_alive, bool):
        return keep_alive == 0
    return isinstance(keep_alive, str) and re.fullmatch(r"0+(\.0*)?[a-z]*", keep_alive) is not None


def tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls as Ollama sends them: an `id` per call and the function's `index`."""
    out = []
    for i, call in enumerate(calls):
        function = {"index": i, **call.get("function", {})}
        ident = "call_" + "".join(_ID_CHARS[b % len(_ID_CHARS)] for b in secrets.token_bytes(8))
        out.append({"id": ident, **call, "function": function})
    return out


def metrics(body: Mapping[str, Any], tokens: int) -> dict[str, Any]:
    """The durations and counts of a final `done: true` object.

    A prompt longer than `options.num_ctx` is cut to fit, as Ollama does without an error (its
    log says "truncating input prompt"): `prompt_eval_count` is then `num_ctx`.
    """
    prompt = prompt_tokens(body)
    options = body.get("options")
    num_ctx = options.get("num_ctx") if isinstance(options, Mapping) else None
    if isinstance(num_ctx, int) and num_ctx > 0:
        prompt = min(prompt, num_ctx)
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


def normalised(vector: list[float]) -> list[float]:
    """`vector` scaled to length 1 (a zero vector stays zero)."""
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def embedding(text: str, dim: int) -> list[float]:
    """The stand-in's embedding: hashed words, L2-normalised (texts sharing words are close)."""
    vector = [0.0] * dim
    for word in re.findall(r"\w+", text.lower()) or [""]:
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % dim] += 1.0 + digest[1] / 255
    return normalised(vector)


def details(name: str) -> dict[str, Any]:
    """The `details` object of a model (`/api/tags`, `/api/ps`, `/api/show`)."""
    family = re.split(r"[:\d.]", name, maxsplit=1)[0] or "llama"
    return {
        "parent_model": "",
        "format": "gguf",
        "family": family,
        "families": [family],
        "parameter_size": "8.0B",
        "quantization_level": "Q4_K_M",
    }


def model_entry(name: str) -> dict[str, Any]:
    """A model in `/api/tags`."""
    return {
        "name": name,
        "model": name,
        "modified_at": _MODIFIED_AT,
        "size": 4_920_753_328,
        "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": details(name),
    }


def ps_entry(name: str, context_length: int) -> dict[str, Any]:
    """A loaded model in `/api/ps`, expiring in 5 minutes."""
    expires = datetime.now(UTC) + timedelta(minutes=5)
    return {
        "name": name,
        "model": name,
        "size": 6_654_289_920,
        "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": details(name),
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
        "size_vram": 6_654_289_920,
        "context_length": context_length,
    }


_CAPABILITIES: tuple[tuple[str, tuple[str, ...], str, int], ...] = (
    ("embed", ("embedding",), "nomic-bert", 2048),
    ("gpt-oss", ("completion", "tools", "thinking"), "gptoss", 131072),
    ("qwen3", ("completion", "tools", "thinking"), "qwen3", 40960),
    ("deepseek-r1", ("completion", "thinking"), "qwen2", 131072),
    ("gemma3:270m", ("completion",), "gemma3", 32768),
    ("gemma3", ("completion", "vision"), "gemma3", 131072),
    ("llava", ("completion", "vision"), "llama", 4096),
)
"""Name prefix -> what `ollama show` reports for such a model (capabilities, architecture,
trained context), as Ollama 0.12 does for the library's models; others are Llama 3.1."""


def show_info(name: str) -> dict[str, Any]:
    """The `/api/show` answer for a model (its capabilities by name, see `_CAPABILITIES`)."""
    capabilities: tuple[str, ...] = ("completion", "tools")
    arch, context = "llama", 131072
    for prefix, found, found_arch, found_context in _CAPABILITIES:
        if name.startswith(prefix) or (prefix == "embed" and prefix in name):
            capabilities, arch, context = found, found_arch, found_context
            break
    return {
        "modelfile": f'# Modelfile generated by "ollama show"\nFROM {name}\n',
        "parameters": 'stop                           "<|eot_id|>"',
        "template": "{{ .Prompt }}",
        "details": details(name),
        "model_info": {
            "general.architecture": arch,
            "general.parameter_count": 8_030_261_248,
            f"{arch}.context_length": context,
            f"{arch}.embedding_length": 4096,
            "tokenizer.ggml.tokens": [],
        },
        "capabilities": list(capabilities),
        "modified_at": _MODIFIED_AT,
    }


def pull_steps(name: str) -> list[dict[str, Any]]:
    """The progress objects `/api/pull` streams for a model, ending in `success`."""
    digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
    total = 2_019_377_376
    steps: list[dict[str, Any]] = [{"status": "pulling manifest"}]
    for done in (0, total // 2, total):
        steps.append(
            {"status": f"pulling {digest[7:19]}", "digest": digest, "total": total}
            | ({"completed": done} if done else {})
        )
    return [
        *steps,
        {"status": "verifying sha256 digest"},
        {"status": "writing manifest"},
        {"status": "removing any unused layers"},
        {"status": "success"},
    ]


__all__ = [
    "DEFAULT_ANSWER",
    "DEFAULT_MODEL",
    "EVAL_NS_PER_TOKEN",
    "LOAD_NS",
    "MODEL_PATHS",
    "PROMPT_NS_PER_TOKEN",
    "VERSION",
    "Reply",
    "Request",
    "cut",
    "details",
    "embedding",
    "example_of",
    "full_name",
    "metrics",
    "model_entry",
    "normalised",
    "pieces",
    "prompt_tokens",
    "ps_entry",
    "pull_steps",
    "show_info",
    "thinks",
    "timestamp",
    "tool_calls",
    "unloads",
]

"""What each OpenAI-compatible local server honours, and how to tell which one answers.

Every server below speaks `POST /v1/chat/completions`, but they differ in what they add and
what they ignore: the field that carries reasoning text (`reasoning_content` on llama.cpp,
`reasoning` on vLLM and Ollama), how thinking is switched off or its effort set
(`chat_template_kwargs.enable_thinking` on llama.cpp and vLLM, `reasoning_effort` with "none"
on Ollama), the message field earlier reasoning is sent back in, whether `tools`,
`tool_choice="required"`, `response_format` and a GBNF `grammar` are honoured, whether usage
comes in the last streamed chunk, and
whether llama.cpp's `timings` come along. A `ServerPreset` writes that down once per kind;
`classify` names the kind from what `GET /v1/models` (and, where that is not enough, one
more endpoint) says. Pure data and functions: no I/O.

Example:
    >>> preset("lm-studio").default_url
    'http://localhost:1234'
    >>> classify({"data": [{"id": "m", "owned_by": "vllm"}]})
    'vllm'
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LLAMA_CPP_SAMPLING = frozenset(
    {
        "top_k",
        "min_p",
        "typical_p",
        "repeat_penalty",
        "repeat_last_n",
        "mirostat",
        "mirostat_tau",
        "mirostat_eta",
        "n_keep",
        "min_keep",
        "dynatemp_range",
        "dynatemp_exponent",
        "dry_multiplier",
        "dry_base",
        "dry_allowed_length",
        "dry_penalty_last_n",
        "xtc_probability",
        "xtc_threshold",
        "top_n_sigma",
        "samplers",
        "ignore_eos",
        "n_indent",
        "t_max_predict_ms",
        "cache_prompt",
        "n_probs",
        "id_slot",
        "grammar",
        "json_schema",
    }
)
"""llama.cpp server's own sampling and slot fields (`/completion` and `/v1` take them)."""

LLAMA_CPP_EXTRAS = LLAMA_CPP_SAMPLING | {
    "reasoning_format",
    "reasoning_budget",
    "reasoning_budget_tokens",
    "chat_template_kwargs",
}
"""Fields llama.cpp's server takes on `/v1/chat/completions` besides OpenAI's."""


@dataclass(frozen=True, slots=True)
class ServerPreset:
    """What one kind of OpenAI-compatible server honours.

    Attributes:
        name: The preset's name ("vllm", "lmstudio", ...).
        title: The server's name for messages ("vLLM").
        default_url: Where it listens when started with its defaults (no `/v1`).
        start: A one-line start command, for docs and the error when nothing listens.
        reasoning_fields: Delta/message fields that carry reasoning text, in the order read.
        thinking_switch: The request field, dotted when nested, that takes a boolean turning
            a thinking model's thoughts on or off (llama.cpp and vLLM pass
            `chat_template_kwargs.enable_thinking` to the chat template); None: no switch.
        effort_field: The request field that takes an effort level ("low", "medium",
            "high"); None: efforts are not sent.
        effort_off: The value of `effort_field` that turns thinking off (Ollama: "none"),
            used by `reasoning=False` where there is no `thinking_switch`.
        history_reasoning_field: The assistant-message field that carries an earlier turn's
            reasoning back to the server (its template shows or drops it); None: not sent.
        tools: Parses tool calls itself from `tools` (native tool calling).
        tool_choice_required: Honours `tool_choice="required"` and a named tool.
        json_schema: Honours `response_format={"type": "json_schema", ...}`.
        json_object: Honours `response_format={"type": "json_object"}`.
        grammar_field: The request field that takes a GBNF grammar, dotted when nested
            (vLLM: "structured_outputs.grammar"); None: no grammar.
        stream_usage: Sends usage in the last chunk when `stream_options.include_usage`.
        timings: Sends llama.cpp's `timings` object with its answers.
        completions: Has `POST /v1/completions`.
        embeddings: Has `POST /v1/embeddings`.
        tokenize: Its tokenizer endpoint's dialect: "llama.cpp" (`/tokenize` with `content`),
            "vllm" (`/tokenize` with `prompt`), or None.
        extra_fields: Non-OpenAI request fields it takes (sent when a call passes them).
        repeat_penalty_field: The request field of the repetition penalty, if it has one.
        owned_by: The `owned_by` values of its `/v1/models` entries.
    """

    name: str
    title: str
    default_url: str
    start: str
    reasoning_fields: tuple[str, ...] = ("reasoning_content", "reasoning")
    thinking_switch: str | None = None
    effort_field: str | None = None
    effort_off: str | None = None
    history_reasoning_field: str | None = "reasoning_content"
    tools: bool = True
    tool_choice_required: bool = True
    json_schema: bool = True
    json_object: bool = True
    grammar_field: str | None = None
    stream_usage: bool = True
    timings: bool = False
    completions: bool = True
    embeddings: bool = True
    tokenize: str | None = None
    extra_fields: frozenset[str] = frozenset()
    repeat_penalty_field: str | None = None
    owned_by: tuple[str, ...] = ()

    def replace(self, **changes: Any) -> ServerPreset:
        """This preset with some fields changed (what `server_options=` does).

        Raises:
            ValueError: A name that is not a field of `ServerPreset`.
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(
                f"Unknown server option(s) {unknown}; the options are {sorted(names - {'name'})}."
            )
        if "reasoning_fields" in changes:
            changes["reasoning_fields"] = tuple(changes["reasoning_fields"])
        return dataclasses.replace(self, **changes)


_LLAMA_START = "llama-server -m model.gguf --jinja --port 8080"
_TEMPLATE_SWITCH = "chat_template_kwargs.enable_thinking"
"""The switch of servers that pass `chat_template_kwargs` to the model's template (Qwen3,
SmolLM3, Granite, DeepSeek-V3.1 and others read `enable_thinking`)."""

PRESETS: dict[str, ServerPreset] = {
    p.name: p
    for p in (
        ServerPreset(
            "llama.cpp",
            "llama.cpp server",
            "http://localhost:8080",
            _LLAMA_START,
            reasoning_fields=("reasoning_content",),
            thinking_switch=_TEMPLATE_SWITCH,
            effort_field="reasoning_effort",
            effort_off="none",
            grammar_field="grammar",
            timings=True,
            tokenize="llama.cpp",
            extra_fields=LLAMA_CPP_EXTRAS,
            repeat_penalty_field="repeat_penalty",
            owned_by=("llamacpp",),
        ),
        ServerPreset(
            "llamafile",
            "llamafile (older server)",
            "http://localhost:8080",
            "./model.llamafile --server --nobrowser",
            reasoning_fields=("reasoning_content",),
            history_reasoning_field=None,
            tools=False,
            tool_choice_required=False,
            json_schema=False,
            json_object=False,
            grammar_field="grammar",
            stream_usage=False,
            completions=False,
            tokenize="llama.cpp",
            extra_fields=LLAMA_CPP_EXTRAS,
            repeat_penalty_field="repeat_penalty",
        ),
        ServerPreset(
            "lmstudio",
            "LM Studio",
            "http://localhost:1234",
            "lms server start  (then `lms load <model>`)",
            effort_field="reasoning_effort",
            json_object=False,
            repeat_penalty_field="repeat_penalty",
            extra_fields=frozenset({"top_k", "min_p", "repeat_penalty", "ttl", "draft_model"}),
            owned_by=("organization_owner",),
        ),
        ServerPreset(
            "vllm",
            "vLLM",
            "http://localhost:8000",
            "vllm serve <model> --enable-auto-tool-choice --tool-call-parser hermes",
            reasoning_fields=("reasoning", "reasoning_content"),
            thinking_switch=_TEMPLATE_SWITCH,
            effort_field="reasoning_effort",
            history_reasoning_field="reasoning",
            grammar_field="structured_outputs.grammar",
            tokenize="vllm",
            extra_fields=frozenset(
                {
                    "top_k",
                    "min_p",
                    "repetition_penalty",
                    "guided_json",
                    "guided_grammar",
                    "structured_outputs",
                    "chat_template_kwargs",
                    "skip_special_tokens",
                    "min_tokens",
                    "ignore_eos",
                    "reasoning_effort",
                }
            ),
            repeat_penalty_field="repetition_penalty",
            owned_by=("vllm",),
        ),
        ServerPreset(
            "ollama",
            "Ollama",
            "http://localhost:11434",
            "ollama serve  (then `ollama pull <model>`)",
            reasoning_fields=("reasoning", "reasoning_content"),
            effort_field="reasoning_effort",
            effort_off="none",
            history_reasoning_field="reasoning",
            tool_choice_required=False,
            extra_fields=frozenset({"reasoning_effort"}),
            owned_by=("library", "ollama"),
        ),
        ServerPreset(
            "localai",
            "LocalAI",
            "http://localhost:8080",
            "local-ai run <model>",
            reasoning_fields=("reasoning", "reasoning_content"),
            history_reasoning_field="reasoning",
            grammar_field="grammar",
            extra_fields=frozenset({"top_k", "repeat_penalty", "grammar"}),
            repeat_penalty_field="repeat_penalty",
            owned_by=("localai",),
        ),
        ServerPreset(
            "koboldcpp",
            "KoboldCpp",
            "http://localhost:5001",
            "koboldcpp --model model.gguf --port 5001",
            history_reasoning_field=None,
            tool_choice_required=False,
            grammar_field="grammar",
            stream_usage=False,
            embeddings=False,
            extra_fields=frozenset({"top_k", "min_p", "rep_pen", "grammar"}),
            repeat_penalty_field="rep_pen",
            owned_by=("koboldcpp",),
        ),
        ServerPreset(
            "jan",
            "Jan",
            "http://localhost:1337",
            "Jan: Settings > Local API Server > Start Server",
            owned_by=("jan",),
        ),
        ServerPreset(
            "mlx",
            "mlx_lm.server",
            "http://localhost:8080",
            "mlx_lm.server --model <model> --port 8080",
            reasoning_fields=("reasoning", "reasoning_content"),
            history_reasoning_field="reasoning",
            tool_choice_required=False,
            json_schema=False,
            json_object=False,
            embeddings=False,
            repeat_penalty_field="repetition_penalty",
            extra_fields=frozenset({"top_k", "min_p", "repetition_penalty"}),
        ),
        ServerPreset(
            "generic",
            "OpenAI-compatible server",
            "http://localhost:8080",
            "start your server's OpenAI-compatible API",
            effort_field="reasoning_effort",
        ),
    )
}
"""Every preset by name."""

ALIASES: dict[str, str] = {
    "llamacpp": "llama.cpp",
    "llama-cpp": "llama.cpp",
    "llama-server": "llama.cpp",
    "llamacpp-server": "llama.cpp",
    "llama.cpp-server": "llama.cpp",
    "lm-studio": "lmstudio",
    "lm_studio": "lmstudio",
    "local-ai": "localai",
    "kobold": "koboldcpp",
    "kobold.cpp": "koboldcpp",
    "mlx_lm": "mlx",
    "mlx-lm": "mlx",
    "openai": "generic",
    "openai-compatible": "generic",
}
"""Other names users write for a preset."""


def preset(name: str) -> ServerPreset:
    """The preset called `name` (or one of its aliases, any case).

    Raises:
        ValueError: No such preset (the message lists them and suggests the closest).

    Example:
        >>> preset("llama-server").name
        'llama.cpp'
    """
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key in PRESETS:
        return PRESETS[key]
    close = difflib.get_close_matches(key, [*PRESETS, *ALIASES], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"Unknown server {name!r}; the presets are {sorted(PRESETS)}.{hint}")


def thinking_fields(p: ServerPreset, reasoning: Any) -> dict[str, Any]:
    """The request fields (dotted paths) that carry a `reasoning` switch to the server `p`.

    None sends nothing; False turns thinking off (the switch, else the effort field's "off"
    value); True turns it on; an effort level turns it on and sets the effort.

    Example:
        >>> thinking_fields(preset("llama.cpp"), False)
        {'chat_template_kwargs.enable_thinking': False}
        >>> thinking_fields(preset("ollama"), False), thinking_fields(preset("ollama"), "high")
        ({'reasoning_effort': 'none'}, {'reasoning_effort': 'high'})
    """
    out: dict[str, Any] = {}
    if reasoning is None:
        return out
    if reasoning is False:
        if p.thinking_switch:
            out[p.thinking_switch] = False
        elif p.effort_field and p.effort_off:
            out[p.effort_field] = p.effort_off
        return out
    if p.thinking_switch:
        out[p.thinking_switch] = True
    if isinstance(reasoning, str) and p.effort_field:
        out[p.effort_field] = reasoning
    return out


def model_ids(models: Any) -> tuple[str, ...]:
    """The model ids of a `GET /v1/models` answer, in its order.

    Example:
        >>> model_ids({"object": "list", "data": [{"id": "a"}, {"id": "b"}]})
        ('a', 'b')
    """
    data = models.get("data") if isinstance(models, Mapping) else None
    if not isinstance(data, list):
        data = models.get("models") if isinstance(models, Mapping) else None
    ids = []
    for entry in data or ():
        name = (entry.get("id") or entry.get("model")) if isinstance(entry, Mapping) else None
        if isinstance(name, str):
            ids.append(name)
    return tuple(ids)


def context_length(models: Any, model: str | None = None) -> int | None:
    """The context window `/v1/models` reports for `model` (or the first), where it says.

    vLLM reports `max_model_len`, llama.cpp `meta.n_ctx_train`, LM Studio's and others'
    entries `context_length` or `max_context_length`.
    """
    data = models.get("data") if isinstance(models, Mapping) else None
    for entry in data or ():
        if not isinstance(entry, Mapping) or (model and entry.get("id") != model):
            continue
        meta = entry.get("meta")
        meta = meta if isinstance(meta, Mapping) else {}
        for value in (
            entry.get("max_model_len"),
            entry.get("context_length"),
            entry.get("max_context_length"),
            meta.get("n_ctx"),
            meta.get("n_ctx_train"),
        ):
            if isinstance(value, int) and value > 0:
                return value
        return None
    return None


def classify(models: Any, headers: Mapping[str, str] | None = None) -> str | None:
    """The preset name that a `/v1/models` answer (and the response headers) point to.

    None when they name no known server (the caller may probe further, see `PROBES`).

    Example:
        >>> classify({"data": [{"id": "qwen3-4b", "owned_by": "organization_owner"}]})
        'lmstudio'
        >>> classify({"data": [{"id": "x", "owned_by": "someone"}]}) is None
        True
    """
    owners = set()
    data = models.get("data") if isinstance(models, Mapping) else None
    for entry in data or ():
        if isinstance(entry, Mapping) and isinstance(entry.get("owned_by"), str):
            owners.add(entry["owned_by"].lower())
    for p in PRESETS.values():
        if owners & set(p.owned_by):
            return p.name
    server = (headers or {}).get("server", "").lower()
    for word, name in (("llama", "llama.cpp"), ("kobold", "koboldcpp"), ("localai", "localai")):
        if word in server:
            return name
    return None


PROBES: tuple[tuple[str, str, str], ...] = (
    ("/api/extra/version", "result", "koboldcpp"),
    ("/api/version", "version", "ollama"),
    ("/version", "version", "localai"),
)
"""When `/v1/models` names no server: (endpoint, the key its JSON answer has, preset), tried
in order; the first endpoint that answers with that key names the server. KoboldCpp comes
first because it also answers Ollama's `/api/version`; vLLM's `/version` is never reached
(its models say `owned_by: "vllm"`)."""


__all__ = [
    "ALIASES",
    "LLAMA_CPP_EXTRAS",
    "LLAMA_CPP_SAMPLING",
    "PRESETS",
    "PROBES",
    "ServerPreset",
    "classify",
    "context_length",
    "model_ids",
    "preset",
    "thinking_fields",
]

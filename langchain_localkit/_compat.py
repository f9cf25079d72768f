"""What became of each constructor argument and call option of langchain-community 0.4.2.

Migrating is an import change: every argument community's `LlamaCpp`, `ChatLlamaCpp`,
`GPT4All`, `Llamafile` and their embeddings accepted is accepted here with the same meaning,
or rejected with an error that says what replaced it. This module is the single record of
the differences; the faces consult it (errors, warnings) and `scripts/migration_table.py`
renders it, with the community signatures in `scripts/community_0_4_2.json`, as the table in
`docs/migration.md`. An argument with the same name, meaning and default is not listed.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["renamed", "ignored", "removed"]


@dataclass(frozen=True)
class Change:
    """What happened to one community argument.

    Attributes:
        kind: "renamed" (accepted under another name too), "ignored" (accepted, no effect,
            as in community or its runtime), or "removed" (an error that says what to use).
        why: The reason, and what to use instead.
        to: The new name, for "renamed".
    """

    kind: Kind
    why: str
    to: str | None = None
    warn: bool = True
    """Whether giving an ignored argument warns (off where community users pass it often)."""


_CLIENT = Change(
    "removed",
    "the runtime object is built from the model file on first use and shared by equal "
    "wrappers; read it as `.client` (or `.engine`)",
)
_LLAMA_SHARED: dict[str, Change] = {
    "client": _CLIENT,
    "n_parts": Change("ignored", "GGML multi-part files; llama-cpp-python no longer has it"),
}

CONSTRUCTOR: dict[str, dict[str, Change]] = {
    "LlamaCpp": dict(_LLAMA_SHARED),
    "ChatLlamaCpp": {
        **_LLAMA_SHARED,
        "suffix": Change("ignored", "community's ChatLlamaCpp never used it either"),
        "echo": Change("ignored", "community's ChatLlamaCpp never used it either"),
        "logprobs": Change(
            "removed",
            "the chat face returns no log-probabilities; use `LlamaCpp(logprobs=N, "
            "logits_all=True, apply_chat_template=True)`",
        ),
    },
    "GPT4All": {
        "f16_kv": Change(
            "ignored", "the gpt4all bindings have no such option (community ignored it)"
        ),
        "n_parts": Change("ignored", "the gpt4all bindings have no such option"),
        "seed": Change("ignored", "the gpt4all bindings have no seed"),
        "logits_all": Change("ignored", "the gpt4all bindings have no such option"),
        "vocab_only": Change("ignored", "the gpt4all bindings have no such option"),
        "use_mlock": Change("ignored", "the gpt4all bindings have no such option"),
        "embedding": Change("ignored", "use GPT4AllEmbeddings for embeddings"),
        "echo": Change("ignored", "the gpt4all bindings have no such option"),
        "backend": Change("ignored", "the bindings choose the backend from `device`", warn=False),
        "streaming": Change(
            "ignored",
            "callbacks always see every token as it is decoded; `.stream()` streams",
            warn=False,
        ),
    },
    "Llamafile": {},
    "LlamaCppEmbeddings": {
        "client": _CLIENT,
        "n_parts": _LLAMA_SHARED["n_parts"],
        "device": Change(
            "ignored",
            "llama-cpp-python has no `device` (community passed it and it was dropped); offload "
            "layers with `n_gpu_layers`",
        ),
    },
    "GPT4AllEmbeddings": {
        "model_name": Change(
            "renamed",
            "a file name in gpt4all's model folder (`gpt4all_kwargs['model_path']`, default "
            "~/.cache/gpt4all), or a path; `model=` takes a path",
            to="model",
        ),
        "client": _CLIENT,
    },
    "LlamafileEmbeddings": {},
}
"""Constructor arguments that changed, per community class."""

_NO_STOPPING_CRITERIA = Change(
    "removed",
    "decoding halts at `stop` strings and `max_tokens`, and when you stop reading a stream",
)
_STREAM = Change("removed", "use `.stream()` / `.astream()`; `invoke` streams to callbacks")
_NO_TFS = Change("ignored", "tail-free sampling left llama.cpp; llama-cpp-python 0.3 ignores it")

CALL: dict[str, dict[str, Change]] = {
    "LlamaCpp": {
        "stream": _STREAM,
        "tfs_z": _NO_TFS,
        "model": Change("ignored", "a label only (it names the model in run metadata)"),
        "stopping_criteria": _NO_STOPPING_CRITERIA,
    },
    "ChatLlamaCpp": {
        "functions": Change("removed", "OpenAI's legacy functions API: use `bind_tools(...)`"),
        "function_call": Change(
            "removed", "OpenAI's legacy functions API: use `bind_tools(..., tool_choice=...)`"
        ),
        "stream": _STREAM,
        "tfs_z": _NO_TFS,
        "model": Change("ignored", "a label only (it names the model in run metadata)"),
        "logprobs": CONSTRUCTOR["ChatLlamaCpp"]["logprobs"],
        "top_logprobs": CONSTRUCTOR["ChatLlamaCpp"]["logprobs"],
    },
    "GPT4All": {
        "streaming": CONSTRUCTOR["GPT4All"]["streaming"],
        "callback": Change(
            "removed",
            "pass a LangChain callback handler (`callbacks=[...]`, `on_llm_new_token`) or read "
            "`.stream()`",
        ),
    },
    "Llamafile": {},
}
"""Per-call options (`invoke(..., **kwargs)`) that changed, per community class."""

DEFAULTS: dict[str, dict[str, str]] = {
    "LlamaCpp": {
        "verbose": "silent unless asked; `verbose=True` prints llama.cpp's timing report",
        "n_ctx": "None: the model's training context, capped at 4096 (512 truncated most prompts)",
        "n_batch": "llama.cpp's default; 8 made prompt evaluation many times slower",
        "n_gpu_layers": "the same meaning: nothing offloaded unless asked",
        "stop": "the same meaning: no stop strings",
        "repeat_penalty": "llama.cpp's default, so greedy output equals the raw runtime's",
        "rope_freq_scale": "None: from the model (a forced 1.0 broke scaled-RoPE models)",
        "rope_freq_base": "None: from the model (a forced 10000 broke Llama 3 and others)",
    },
    "ChatLlamaCpp": {
        "streaming": "`invoke` always decodes through the streaming path, so callbacks see "
        "every token either way",
    },
    "GPT4All": {
        "verbose": "silent unless asked; `verbose=True` prints a timing report",
        "n_threads": "None: the bindings' default for this machine (4 was a fixed guess)",
        "n_predict": "None: `max_tokens` decides; a set `n_predict` is used",
        "stop": "the same meaning: no stop strings",
    },
    "Llamafile": {
        "n_predict": "`n_predict` is an alias of `max_tokens` (256); -1 decoded until the "
        "context was full",
        "verbose": "silent unless asked",
        "request_timeout": "a dead server is reported after 10 minutes instead of never",
        "streaming": "`invoke` streams so callbacks see every token; the text is the same",
        "repeat_penalty": "llama.cpp's default, so output equals the server's own",
        "penalize_nl": "None: not sent (llama.cpp removed the option)",
    },
    "LlamaCppEmbeddings": {
        "model_path": "required: a model is always loaded from a file",
        "n_ctx": "None: the model's training context, capped at 4096",
        "f16_kv": "llama.cpp's default (F16 KV cache)",
        "n_batch": "the whole text in one batch (a text longer than the batch was cut)",
        "n_gpu_layers": "the same meaning: nothing offloaded unless asked",
        "verbose": "silent unless asked",
    },
    "LlamafileEmbeddings": {
        "request_timeout": "a dead server is reported after 10 minutes instead of never",
    },
}
DEFAULTS["ChatLlamaCpp"] = {**DEFAULTS["LlamaCpp"], **DEFAULTS["ChatLlamaCpp"]}
"""Why a default differs from community's, per class and argument."""


def reject_removed(cls_name: str, values: Mapping[str, Any]) -> None:
    """Raise for a removed constructor argument given a value (None counts as not given).

    Raises:
        ValueError: The argument was removed; the message says what to use instead.
    """
    for name, change in CONSTRUCTOR.get(cls_name, {}).items():
        if change.kind == "removed" and values.get(name) is not None:
            raise ValueError(
                f"`{name}` (langchain-community's {cls_name}) is not supported: {change.why}."
            )


def accept_community_arguments(
    cls_name: str, values: Any, model: Any, *, to_model_kwargs: bool = False
) -> Any:
    """The `mode="before"` validation of community arguments, for a face's constructor.

    Removed arguments raise with what replaced them; ignored ones warn (unless given their
    default) and are dropped unless the face (the pydantic class `model`) declares them; with
    `to_model_kwargs`, undeclared arguments go to `model_kwargs` (see
    `transfer_to_model_kwargs`).

    Raises:
        ValueError: A removed argument, or one given twice.
    """
    if not isinstance(values, dict):
        return values
    reject_removed(cls_name, values)
    known = field_names(model)
    changes = CONSTRUCTOR.get(cls_name, {})
    values = dict(values)
    for name, change in changes.items():
        if change.kind == "removed" and name in values:
            values.pop(name)  # given as None, its community default (reject_removed let it by)
        if change.kind != "ignored" or name not in values:
            continue
        declared = model.model_fields.get(name)
        if change.warn and (declared is None or values[name] != declared.default):
            warnings.warn(
                f"`{name}` has no effect in {cls_name} and is ignored: {change.why}.",
                UserWarning,
                stacklevel=5,
            )
        if name not in known:
            values.pop(name)
    if to_model_kwargs:
        values = transfer_to_model_kwargs(cls_name, values, known)
    return values


def field_names(cls: Any) -> set[str]:
    """A pydantic model's field names and their aliases."""
    names: set[str] = set()
    for name, info in cls.model_fields.items():
        names.add(name)
        if info.alias:
            names.add(info.alias)
        choices = getattr(info.validation_alias, "choices", None)
        if choices:
            names.update(c for c in choices if isinstance(c, str))
        elif isinstance(info.validation_alias, str):
            names.add(info.validation_alias)
    return names


def unknown_call_options(
    cls_name: str, unknown: Iterable[str], accepted: Iterable[str], *, label: str | None = None
) -> str:
    """The message for per-call options a face does not take, with community's replacements.

    `cls_name` is the community class whose changes explain the options; `label` names the
    face in the message (default: `cls_name`).
    """
    changes = CALL.get(cls_name, {})
    parts = []
    for name in sorted(unknown):
        change = changes.get(name)
        if change is not None and change.kind == "removed":
            parts.append(f"`{name}` is not supported: {change.why}.")
        else:
            close = difflib.get_close_matches(name, list(accepted), n=1)
            parts.append(
                f"`{name}` is unknown" + (f" (did you mean `{close[0]}`?)." if close else ".")
            )
    options = ", ".join(sorted(accepted))
    return f"{label or cls_name}: {' '.join(parts)} Per-call options: {options}, stop."


def ignored_call_options(cls_name: str) -> frozenset[str]:
    """Per-call options that are accepted and have no effect (as in community's runtime)."""
    return frozenset(n for n, c in CALL.get(cls_name, {}).items() if c.kind == "ignored")


def transfer_to_model_kwargs(
    cls_name: str, values: dict[str, Any], fields: Iterable[str]
) -> dict[str, Any]:
    """Move constructor arguments a llama.cpp face does not declare into `model_kwargs`.

    What community's `LlamaCpp` did: an argument llama-cpp-python accepts (say
    `offload_kqv=False`) is passed on to `llama_cpp.Llama` with a warning; a name that
    `llama_cpp.Llama` does not know fails when the model loads, listing the names it knows.
    A declared parameter put inside `model_kwargs` is moved up to its field, with a warning.

    Raises:
        ValueError: An argument is given both directly and in `model_kwargs`.
    """
    known = set(fields)
    extra = dict(values.get("model_kwargs") or {})
    for name in list(extra):
        if name in known:
            if name in values:
                raise ValueError(f"`{name}` is given both directly and in `model_kwargs`.")
            warnings.warn(
                f"`{name}` is a parameter of {cls_name}: it was taken out of `model_kwargs` "
                f"and set directly. Pass `{name}=` to silence this warning.",
                UserWarning,
                stacklevel=6,
            )
            values[name] = extra.pop(name)
    for name in [n for n in values if n not in known]:
        if name in extra:
            raise ValueError(f"`{name}` is given both directly and in `model_kwargs`.")
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.85)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        warnings.warn(
            f"`{name}` is not a parameter of {cls_name}: it was transferred to `model_kwargs` "
            f"and goes to llama_cpp.Llama as it is (as langchain-community did).{hint} Pass "
            f"model_kwargs={{'{name}': ...}} to silence this warning.",
            UserWarning,
            stacklevel=6,
        )
        extra[name] = values.pop(name)
    if extra or "model_kwargs" in values:
        values["model_kwargs"] = extra
    return values


__all__ = [
    "CALL",
    "CONSTRUCTOR",
    "DEFAULTS",
    "Change",
    "accept_community_arguments",
    "field_names",
    "ignored_call_options",
    "reject_removed",
    "transfer_to_model_kwargs",
    "unknown_call_options",
]

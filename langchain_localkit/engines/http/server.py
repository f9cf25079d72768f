"""What a llama.cpp server says about itself, and model names as servers report them.

`ServerInfo` reads `GET /props`; `tokenize_request` and `token_ids` shape `POST /tokenize`.
Pure functions and data: no I/O.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def display_model_name(name: Any) -> str:
    """A model name as the server gives it, shortened to the file name when it is a path.

    Example:
        >>> display_model_name("/models/gemma-3-270m-q4_k_m.gguf")
        'gemma-3-270m-q4_k_m.gguf'
        >>> display_model_name("ggml-org/gemma-3")
        'ggml-org/gemma-3'
    """
    if not isinstance(name, str):
        return ""
    if name.endswith((".gguf", ".llamafile", ".bin")) or os.path.isabs(name):
        return os.path.basename(name.rstrip("/\\")) or name
    return name


@dataclass(frozen=True)
class ServerInfo:
    """What `GET /props` says about the server and its model.

    Attributes:
        chat_template: The Jinja chat template the server uses (the model's own, or llama.cpp's
            ChatML default when the GGUF has none), if the server reports one.
        n_ctx: The context window of one slot, in tokens.
        model_path: The model file the server loaded (inside the executable for a llamafile).
        model_alias: The name the server reports for the model (`--alias`).
        bos_token: The BOS token's text, if reported.
        eos_token: The EOS token's text, if reported.
        build_info: llama.cpp's build string (absent on llamafile's older server).
        total_slots: How many requests the server decodes in parallel.
        raw: The whole `/props` answer.
    """

    chat_template: str | None = None
    n_ctx: int | None = None
    model_path: str | None = None
    model_alias: str | None = None
    bos_token: str | None = None
    eos_token: str | None = None
    build_info: str | None = None
    total_slots: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> ServerInfo:
        """Read a `/props` answer (llama.cpp's current server or llamafile's older one).

        Example:
            >>> info = ServerInfo.from_props({"default_generation_settings": {"n_ctx": 2048}})
            >>> info.n_ctx, info.legacy
            (2048, True)
        """
        settings = props.get("default_generation_settings") or {}
        n_ctx = settings.get("n_ctx") if isinstance(settings, Mapping) else None

        def text(key: str) -> str | None:
            value = props.get(key)
            return value if isinstance(value, str) and value else None

        slots = props.get("total_slots")
        return cls(
            chat_template=text("chat_template"),
            n_ctx=int(n_ctx) if isinstance(n_ctx, int | float) and n_ctx > 0 else None,
            model_path=text("model_path"),
            model_alias=text("model_alias"),
            bos_token=text("bos_token"),
            eos_token=text("eos_token"),
            build_info=text("build_info"),
            total_slots=int(slots) if isinstance(slots, int) else None,
            raw=dict(props),
        )

    @property
    def legacy(self) -> bool:
        """Whether this is llamafile's older server (no `json_schema`, no `tools`).

        llama.cpp's current server reports `build_info` and `chat_template` in `/props`;
        llamafile's `--server` (llama.cpp of early 2024) reports neither.
        """
        return "build_info" not in self.raw and "chat_template" not in self.raw

    @property
    def model_name(self) -> str | None:
        """The model's name: the alias, else the model path (a path is cut to its file name)."""
        return display_model_name(self.model_alias or self.model_path) or None


def tokenize_request(text: str, *, add_special: bool = False) -> dict[str, Any]:
    """The body of `POST /tokenize`; special tokens written as text are parsed."""
    return {"content": text, "add_special": add_special, "parse_special": True}


def token_ids(answer: Any) -> list[int]:
    """The ids of a `/tokenize` answer (plain ids, or `{"id", "piece"}` objects).

    Example:
        >>> token_ids({"tokens": [1, {"id": 2, "piece": "a"}]})
        [1, 2]
    """
    tokens = answer.get("tokens", []) if isinstance(answer, Mapping) else []
    return [int(t["id"]) if isinstance(t, Mapping) else int(t) for t in tokens]


__all__ = ["ServerInfo", "display_model_name", "token_ids", "tokenize_request"]

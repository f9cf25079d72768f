"""What every llamafile / llama.cpp server face shares: the connection, and the sampling fields.

`LlamafileConnection` (every face, embeddings included) says where the server is and how to
talk to it; `LlamafileParams` adds community `Llamafile`'s sampling parameters, in the server's
names, and shapes them into a `/completion` body.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import AliasChoices, Field, PrivateAttr, model_validator

from langchain_localkit._core.langchain import merge_stop
from langchain_localkit._faces.params import GenerationParams, HttpConnection
from langchain_localkit.engines.http.servers import LLAMA_CPP_SAMPLING
from langchain_localkit.engines.llamafile import DEFAULT_BASE_URL, LlamafileEngine

# Fields of `/completion` a call may set (llama.cpp's names), besides `max_tokens`/`stop`.
_SERVER_KWARGS = LLAMA_CPP_SAMPLING | {
    "n_predict",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "logit_bias",
    "tfs_z",
    "penalize_nl",
}
_CALL_KWARGS = _SERVER_KWARGS | {"max_tokens"}


class LlamafileConnection(HttpConnection):
    """Where the server is and how to talk to it (every llamafile face has these)."""

    base_url: str = DEFAULT_BASE_URL
    """The server's address (`./model.llamafile --server --nobrowser` listens on port 8080)."""

    _engine: LlamafileEngine | None = PrivateAttr(default=None)

    @property
    def engine(self) -> LlamafileEngine:
        """The HTTP engine (made on first use; its connections are pooled and reused)."""
        if self._engine is None:
            self._engine = LlamafileEngine(self.base_url, **self.transport_options())
        return self._engine


class LlamafileParams(LlamafileConnection, GenerationParams):
    """Connection and sampling parameters (community `Llamafile` names and meanings).

    The sampling names are llama.cpp server's; `max_tokens` (alias `n_predict`) bounds the
    reply. Obsolete fields of older servers (`tfs_z`, `penalize_nl`) are sent only when set.
    """

    _localkit_runtime: ClassVar[str] = "llamafile"
    _community_name: ClassVar[str] = "Llamafile"
    supports_grammar: ClassVar[bool] = True
    _call_options: ClassVar[frozenset[str]] = _CALL_KWARGS

    model: str | None = None
    """A name for the model in metadata and traces (and `model` on the OpenAI endpoint).
    None: the server's own name for it (its alias or file name)."""
    max_tokens: int | None = Field(
        default=256, validation_alias=AliasChoices("max_tokens", "n_predict")
    )
    """Most tokens to generate; None or -1: until the model stops or the context is full.
    (`n_predict=` is accepted too; community `Llamafile` defaulted to -1.)"""
    temperature: float = Field(default=0.8, ge=0.0)
    """Sampling temperature; 0 is greedy."""
    top_k: int = Field(default=40, ge=0)
    """Sample from the K most likely tokens (0: off)."""
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    """Nucleus sampling."""
    min_p: float = Field(default=0.05, ge=0.0, le=1.0)
    """Drop tokens less likely than this fraction of the most likely one."""
    typical_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Locally typical sampling (1: off)."""
    repeat_penalty: float = Field(default=1.0, ge=0.0)
    """Penalty for repeated tokens (1: off, llama-server's default, so the server answers as
    it does to any other client; community `Llamafile` used 1.1)."""
    repeat_last_n: int = Field(default=64, ge=-1)
    """Tokens considered by the repeat penalty (0: off, -1: the whole context)."""
    presence_penalty: float = 0.0
    """OpenAI-style presence penalty."""
    frequency_penalty: float = 0.0
    """OpenAI-style frequency penalty."""
    mirostat: int = Field(default=0, ge=0, le=2)
    """Mirostat sampling (0: off, 1, or 2 for Mirostat 2.0)."""
    mirostat_tau: float = 5.0
    """Mirostat target entropy."""
    mirostat_eta: float = 0.1
    """Mirostat learning rate."""
    n_keep: int = 0
    """Prompt tokens kept when the context overflows (-1: all)."""
    tfs_z: float = 1.0
    """Tail-free sampling (1: off). Removed from llama.cpp; sent only when not 1."""
    penalize_nl: bool | None = None
    """Penalise newlines in the repeat penalty. Removed from llama.cpp; sent only when set."""
    seed: int = -1
    """Sampling seed; -1 draws a random one per call."""
    stop: list[str] | None = None
    """Stop strings; the server halts when one appears (it is not returned)."""
    grammar: str | None = None
    """A GBNF grammar constraining every generation."""
    json_schema: dict[str, Any] | None = None
    """A JSON schema constraining every generation (the server turns it into a grammar)."""
    cache_prompt: bool = True
    """Reuse the KV cache of a common prompt prefix (llamafile's older server defaulted to
    off; llama.cpp's to on)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """More `/completion` fields, sent as they are (e.g. `{"dry_multiplier": 0.8}`)."""
    verbose: bool = False
    """Print the server's timing report (llama.cpp's layout) to stderr after each call."""

    @model_validator(mode="after")
    def _check_params(self) -> Self:
        if self.grammar is not None and self.json_schema is not None:
            raise ValueError("Pass either `grammar` or `json_schema`, not both.")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"base_url must start with http:// or https://, not {self.base_url!r} "
                "(e.g. 'http://localhost:8080')."
            )
        return self

    def _body(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The `/completion` body of one call: the fields, overridden by call options."""
        self._check_call_options(kwargs)
        options = dict(kwargs)
        if "max_tokens" in options:
            n_predict = options.pop("max_tokens")
            options.pop("n_predict", None)
        else:
            n_predict = options.pop("n_predict", self.max_tokens)
        body: dict[str, Any] = {
            "n_predict": n_predict if n_predict is not None and n_predict > 0 else -1,
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "min_p": self.min_p,
            "typical_p": self.typical_p,
            "repeat_penalty": self.repeat_penalty,
            "repeat_last_n": self.repeat_last_n,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
            "mirostat": self.mirostat,
            "mirostat_tau": self.mirostat_tau,
            "mirostat_eta": self.mirostat_eta,
            "n_keep": self.n_keep,
            "cache_prompt": self.cache_prompt,
        }
        if self.seed >= 0:
            body["seed"] = self.seed
        if self.tfs_z != 1.0:
            body["tfs_z"] = self.tfs_z
        if self.penalize_nl is not None:
            body["penalize_nl"] = self.penalize_nl
        if self.grammar is not None:
            body["grammar"] = self.grammar
        if self.json_schema is not None:
            body["json_schema"] = self.json_schema
        body.update(self.model_kwargs)
        body.update(options)
        if body.get("seed") is not None and body["seed"] < 0:
            del body["seed"]
        if body.get("grammar") is not None and body.get("json_schema") is not None:
            if "grammar" in options:
                body.pop("json_schema")
            elif "json_schema" in options:
                body.pop("grammar")
        stops = merge_stop(self.stop, stop)
        if stops:
            body["stop"] = list(stops)
        return body

    def _model_label(self) -> str:
        return self.model or "llamafile"

    def get_num_tokens(self, text: str) -> int:
        """Count tokens with the server's own tokenizer (`POST /tokenize`)."""
        return len(self.engine.tokenize(text))

    def get_token_ids(self, text: str) -> list[int]:
        """Token ids of `text` in the server model's vocabulary (`POST /tokenize`)."""
        return self.engine.tokenize(text)


__all__ = ["LlamafileConnection", "LlamafileParams"]

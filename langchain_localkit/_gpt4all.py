"""What the GPT4All faces share: community `GPT4All`'s parameters, and the engine.

Names and defaults follow langchain-community's `GPT4All` so that migrating is an import
change, with two fixes: `model` may be any path to a `.gguf` file (split into the bindings'
directory and file name), and `allow_download` is off unless you set it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

from langchain_localkit._compat import accept_community_arguments
from langchain_localkit._core.gguf import check_model_path
from langchain_localkit._core.langchain import merge_stop, migrate_callback_manager
from langchain_localkit._faces.params import GenerationParams
from langchain_localkit.engines.gpt4all import GPT4AllEngine, GPT4AllLoadOptions, GPT4AllSampling

_CALL_KWARGS = frozenset(
    {"max_tokens", "n_predict", "temp", "top_k", "top_p", "min_p", "repeat_penalty",
     "repeat_last_n", "n_batch"}
)  # fmt: skip


class GPT4AllParams(GenerationParams):
    """The constructor parameters of community `GPT4All` (same names and meanings)."""

    _localkit_runtime: ClassVar[str] = "gpt4all"
    _community_name: ClassVar[str] = "GPT4All"
    _temperature_field: ClassVar[str] = "temp"
    _call_options: ClassVar[frozenset[str]] = _CALL_KWARGS

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    model: str
    """Path of the `.gguf` model file (a file name inside `model_path` works too)."""
    model_path: str | None = None
    """The directory of `model` when `model` is a bare file name (the bindings' style)."""
    backend: str | None = None
    """Accepted for compatibility; the bindings choose the backend."""
    n_ctx: int = Field(default=2048, ge=16)
    """Context window in tokens."""
    n_threads: int | None = Field(default=None, ge=1)
    """CPU threads (None: the bindings' default)."""
    device: str | None = "cpu"
    """"cpu" (default), "gpu", "kompute", "cuda", "amd", "nvidia" or a GPU name."""
    ngl: int = 100
    """Layers offloaded to a GPU device."""
    allow_download: bool = False
    """Let the bindings fetch their online model list. Off: nothing leaves the machine."""
    max_tokens: int = Field(default=200, ge=0)
    """Tokens to generate at most."""
    n_predict: int | None = None
    """Old name of `max_tokens`; used when set."""
    temp: float = Field(default=0.7, ge=0.0)
    """Sampling temperature (0: greedy)."""
    top_p: float = Field(default=0.1, ge=0.0, le=1.0)
    """Nucleus sampling threshold (community default 0.1)."""
    top_k: int = 40
    """Sample among the `top_k` most likely tokens."""
    min_p: float = Field(default=0.0, ge=0.0, le=1.0)
    """Minimum probability relative to the most likely token."""
    repeat_last_n: int = 64
    """How many recent tokens the repeat penalty looks at."""
    repeat_penalty: float = Field(default=1.18, ge=0.0)
    """Penalty for repeated tokens."""
    n_batch: int = Field(default=8, ge=1)
    """Prompt tokens evaluated per batch."""
    stop: list[str] | None = None
    """Stop strings; decoding halts when one appears (it is not returned)."""
    streaming: bool = False
    """Accepted for compatibility: callbacks always see every token as it is decoded."""
    verbose: bool = False
    """Print a timing report (llama.cpp's layout) after each call."""
    n_parts: int = -1
    seed: int = 0
    logits_all: bool = False
    vocab_only: bool = False
    use_mlock: bool = False
    embedding: bool = False
    echo: bool | None = False
    f16_kv: bool = False
    """Accepted for compatibility and ignored (the bindings have no such options)."""
    client: Any = None
    """Accepted for compatibility; use `engine.gpt4all` for the bindings' object."""

    _engine: GPT4AllEngine | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _accept_community_arguments(cls, values: Any) -> Any:
        values = migrate_callback_manager(values)
        return accept_community_arguments("GPT4All", values, cls)

    @field_validator("model", mode="before")
    @classmethod
    def _model_as_str(cls, value: Any) -> str:
        return str(value)

    @model_validator(mode="after")
    def _resolve_and_check(self) -> Self:
        path = Path(self.model).expanduser()
        if self.model_path is not None and not path.is_absolute():
            path = Path(self.model_path).expanduser() / path
        self.model = str(check_model_path(path))
        return self

    @property
    def engine(self) -> GPT4AllEngine:
        """The gpt4all engine (the model loads on first use and is shared by equal wrappers)."""
        if self._engine is None:
            options = GPT4AllLoadOptions(
                model_path=self.model,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                device=self.device,
                ngl=self.ngl,
                allow_download=self.allow_download,
            )
            self._engine = GPT4AllEngine(options)
        return self._engine

    def unload(self) -> None:
        """Drop this wrapper's hold on the model (freed when no other wrapper uses it)."""
        if self._engine is not None:
            self._engine.unload()

    def _sampling(self, stop: list[str] | None, kwargs: dict[str, Any]) -> GPT4AllSampling:
        self._check_call_options(kwargs)
        limit = kwargs.get("max_tokens", kwargs.get("n_predict"))
        if limit is None:
            limit = self.n_predict if self.n_predict is not None else self.max_tokens
        return GPT4AllSampling.resolve(
            self, kwargs, max_tokens=limit, stop=merge_stop(self.stop, stop)
        )

    def _model_label(self) -> str:
        return Path(self.model).name

    def get_num_tokens(self, text: str) -> int:
        """Count tokens as the bindings tokenize `text` (evaluates it; loads the model)."""
        return self.engine.count_tokens(text)


__all__ = ["GPT4AllParams"]

"""What every llama.cpp face shares: the constructor parameters users know, and the engine.

Parameter names and meanings follow langchain-community's `LlamaCpp` so that migrating is an
import change; the defaults fix its traps (RoPE from the model, `n_batch=512`, a context window
from the model, silence unless `verbose=True`).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from langchain_localkit._compat import accept_community_arguments
from langchain_localkit._core.errors import GBNF_DOCS, GrammarError
from langchain_localkit._core.gguf import check_model_path
from langchain_localkit._core.grammar_check import grammar_problem
from langchain_localkit._core.langchain import merge_stop, migrate_callback_manager
from langchain_localkit._faces.params import GenerationParams
from langchain_localkit.engines.llamacpp import (
    LlamaCppEngine,
    LlamaLoadOptions,
    SamplingParams,
)
from langchain_localkit.engines.llamacpp_prompt_cache import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MIN_TOKENS,
    PromptCache,
)

SAMPLING_OPTIONS = frozenset(
    {
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "typical_p",
        "repeat_penalty",
        "frequency_penalty",
        "presence_penalty",
        "mirostat_mode",
        "mirostat_tau",
        "mirostat_eta",
        "seed",
        "grammar",
        "logits_processor",
        "logit_bias",
        "prompt_lookup",
    }
)


class LlamaCppLoadParams(BaseModel):
    """How the llama.cpp faces load a model (community `LlamaCpp` names and meanings)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    model_path: str
    """Path of the GGUF model file."""

    n_ctx: int | None = None
    """Context window in tokens. None: the model's training context, capped at 4096;
    0: the full training context."""
    n_batch: int = Field(default=512, ge=1)
    """Tokens evaluated in parallel during prompt processing (1 .. n_ctx)."""
    n_ubatch: int | None = None
    """Physical batch size (llama.cpp's micro-batch)."""
    n_gpu_layers: int | None = 0
    """Layers offloaded to the GPU (-1: all). Ignored by a CPU-only build."""
    n_threads: int | None = Field(default=None, ge=1)
    """Threads for generation (None: llama-cpp-python's default)."""
    n_threads_batch: int | None = Field(default=None, ge=1)
    """Threads for prompt processing (None: same as generation)."""
    seed: int = -1
    """Sampling seed; -1 draws a new random seed for every call."""
    f16_kv: bool = True
    """Half-precision KV cache. llama.cpp's default is F16, so True changes nothing; False asks
    for an F32 KV cache. (llama-cpp-python dropped this parameter; we map it.)"""
    n_parts: int = -1
    """Obsolete (GGML multi-part files); accepted and ignored."""
    logits_all: bool = False
    """Keep the logits of every token (needed for `logprobs`)."""
    vocab_only: bool = False
    """Load only the vocabulary (tokenize without weights)."""
    use_mlock: bool = False
    """Lock the weights in RAM."""
    use_mmap: bool = True
    """Memory-map the model file."""
    rope_freq_base: float | None = None
    """RoPE base frequency; None or 0 takes it from the model (community forced 10000)."""
    rope_freq_scale: float | None = None
    """RoPE frequency scale; None or 0 takes it from the model."""
    flash_attn: bool = False
    """Use flash attention."""
    use_extra_bufts: bool | None = None
    """Load with llama.cpp's extra buffer types: weights repacked into CPU-specific layouts
    (REPACK on AVX2/AVX-512/ARM, AMX tiles on Intel Xeons). None decides once per process:
    on, unless this llama.cpp build has an AMX path that fails a one-time test decode in a
    child process on this CPU (a known crash on virtualized Xeons: see "Segmentation fault on
    cloud Xeons" in docs/llamacpp.md). `LOCALKIT_EXTRA_BUFTS=on|off` sets the default."""
    lora_base: str | None = None
    """Base model for a LoRA adapter."""
    lora_path: str | None = None
    """A LoRA adapter to apply."""
    last_n_tokens_size: int = 64
    """Tokens considered by the repeat penalty."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further `llama_cpp.Llama` arguments (e.g. `{"offload_kqv": False}`); a name
    `llama_cpp.Llama` does not know fails when the model loads. Undeclared constructor
    arguments land here, with a warning, as in langchain-community."""
    verbose: bool = False
    """Print llama.cpp's timing report to stderr after each call (a `TimingCallbackHandler`
    is attached). Without it nothing is printed (llama.cpp's log goes to the
    `langchain_localkit.llama_cpp` logger)."""
    prompt_cache: bool | str | Path = False
    """Keep evaluated prompts on disk so that later calls, wrappers and processes whose prompt
    starts the same way (a long system prompt, tool schemas) restore it instead of evaluating
    it again. True: `prompt-cache` in the package's cache directory
    (`~/.cache/langchain-localkit`); a path: that directory. Off by default: the files are
    the model's state after your prompts, from which the prompts can be read back. See
    "Prompt cache on disk" in docs/llamacpp.md."""
    prompt_cache_max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)
    """Bound on the prompt cache directory; least recently used states are removed first."""
    prompt_cache_min_tokens: int = Field(default=DEFAULT_MIN_TOKENS, ge=1)
    """A prompt is saved when its call evaluated at least this many tokens, and restored when
    that spares at least this many."""

    _engine: LlamaCppEngine | None = PrivateAttr(default=None)

    _community_name: ClassVar[str] = "LlamaCpp"
    """The langchain-community class whose arguments this face accepts (see `_compat`)."""

    @model_validator(mode="before")
    @classmethod
    def _accept_community_arguments(cls, values: Any) -> Any:
        values = migrate_callback_manager(values)
        return accept_community_arguments(cls._community_name, values, cls, to_model_kwargs=True)

    @field_validator("model_path", mode="before")
    @classmethod
    def _check_model_path(cls, value: Any) -> str:
        if not isinstance(value, str | os.PathLike) or not str(value):
            raise ValueError("model_path must be the path of a .gguf file")
        return str(check_model_path(value))

    @model_validator(mode="after")
    def _check_load_params(self) -> Self:
        if self.n_ctx is not None and self.n_ctx < 0:
            raise ValueError("n_ctx must be positive, or 0 for the model's full context.")
        # the default n_batch is lowered to a smaller n_ctx when loading; only one given is wrong
        if self.n_ctx and self.n_batch > self.n_ctx and "n_batch" in self.model_fields_set:
            raise ValueError(f"n_batch ({self.n_batch}) cannot exceed n_ctx ({self.n_ctx}).")
        return self

    def _load_options(self, **overrides: Any) -> LlamaLoadOptions:
        extra = dict(self.model_kwargs)
        if self.last_n_tokens_size != 64:
            extra.setdefault("last_n_tokens_size", self.last_n_tokens_size)
        values: dict[str, Any] = {
            "model_path": self.model_path,
            "n_ctx": self.n_ctx,
            "n_batch": self.n_batch,
            "n_ubatch": self.n_ubatch,
            "n_gpu_layers": self.n_gpu_layers or 0,
            "n_threads": self.n_threads,
            "n_threads_batch": self.n_threads_batch,
            "use_mmap": self.use_mmap,
            "use_mlock": self.use_mlock,
            "vocab_only": self.vocab_only,
            "logits_all": self.logits_all,
            "rope_freq_base": self.rope_freq_base or 0.0,
            "rope_freq_scale": self.rope_freq_scale or 0.0,
            "f16_kv": self.f16_kv,
            "flash_attn": self.flash_attn,
            "use_extra_bufts": self.use_extra_bufts,
            "lora_base": self.lora_base,
            "lora_path": self.lora_path,
            "extra": tuple(sorted(extra.items())),
        }
        values.update(overrides)
        return LlamaLoadOptions(**values)

    @property
    def engine(self) -> LlamaCppEngine:
        """The llama.cpp engine (the model loads on first use and is shared by equal wrappers)."""
        if self._engine is None:
            self._engine = LlamaCppEngine(self._load_options())
            self._engine.prompt_cache = PromptCache.from_setting(
                self.prompt_cache,
                max_bytes=self.prompt_cache_max_bytes,
                min_tokens=self.prompt_cache_min_tokens,
            )
        return self._engine

    @property
    def client(self) -> Any:
        """The underlying `llama_cpp.Llama` (loads the model if needed)."""
        return self.engine.llama

    def unload(self) -> None:
        """Release this wrapper's hold on the model (freed once no other wrapper uses it)."""
        if self._engine is not None:
            self._engine.unload()

    def _model_label(self) -> str:
        return Path(self.model_path).name

    @classmethod
    def from_ollama(
        cls,
        name: str,
        *,
        home: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Self:
        """Load a model Ollama has pulled, in process: its GGUF blob, without the Ollama server.

        Args:
            name: The Ollama name, e.g. `"llama3.1:8b"` (`"qwen3"` finds `"qwen3:latest"`).
            home: The home directory Ollama's store is under (default: yours).
            environ: The environment to read `OLLAMA_MODELS` from (default: `os.environ`).
            **kwargs: Further constructor arguments (`n_ctx`, `temperature`, ...).

        Raises:
            ModelNotFoundError: Ollama has no such model here (pull it with `ollama pull`), or
                its blob is missing.
            InvalidModelFileError: The model's blob is truncated or is not a GGUF file.

        Example:
            .. code-block:: python

                from langchain_localkit import ChatLlamaCpp

                chat = ChatLlamaCpp.from_ollama("llama3.1:8b", n_ctx=8192)
                chat.invoke("Who was first on the moon?")
        """
        from langchain_localkit._core.errors import ModelNotFoundError
        from langchain_localkit.discovery import _match, _unusable, find_models

        models = find_models(sources=("ollama",), home=home, environ=environ)
        try:
            model = _match(name, models)
        except ModelNotFoundError as e:
            raise ModelNotFoundError(
                f"Ollama has no model {name!r} on this computer: pull it first with "
                f"`ollama pull {name}` (nothing is downloaded automatically). {e}"
            ) from None
        if model.problem is not None:
            raise _unusable(model)
        return cls(model_path=str(model.path), **kwargs)

    @classmethod
    def from_local(
        cls,
        name: str,
        *,
        dirs: Sequence[str | os.PathLike[str]] = (),
        sources: Collection[str] | None = None,
        home: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Self:
        """Load any model found on this computer by name (see `langchain_localkit.discovery`).

        Args:
            name: A name `localkit models` lists: `"llama3.1:8b"`, `"org/repo/file.gguf"`,
                a file name or its stem, `"smollm2-135m-instruct"`, ...
            dirs: Your own folders to search too.
            sources: Only these stores (names from `discovery.SOURCES`).
            home: The home directory the stores are under (default: yours).
            environ: The environment (default: `os.environ`).
            **kwargs: Further constructor arguments (`n_ctx`, `temperature`, ...).

        Raises:
            ModelNotFoundError: No model (or more than one) has that name; the message lists
                close names.
            InvalidModelFileError: The model was found but cannot be used (why is quoted).

        Example:
            .. code-block:: python

                from langchain_localkit import LlamaCpp

                llm = LlamaCpp.from_local("Qwen3-4B-Q4_K_M", max_tokens=64)
        """
        from langchain_localkit.discovery import find_model

        model = find_model(name, dirs, sources=sources, home=home, environ=environ)
        return cls(model_path=str(model.path), **kwargs)


class LlamaCppParams(LlamaCppLoadParams, GenerationParams):
    """Load and sampling parameters of the llama.cpp generation faces."""

    _localkit_runtime: ClassVar[str] = "llamacpp"
    supports_grammar: ClassVar[bool] = True
    _call_options: ClassVar[frozenset[str]] = SAMPLING_OPTIONS

    max_tokens: int | None = 256
    """Most tokens to generate (None or <= 0: until the context is full)."""
    temperature: float = Field(default=0.8, ge=0.0)
    """Sampling temperature; 0 is greedy."""
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    """Nucleus sampling."""
    top_k: int = Field(default=40, ge=0)
    """Top-k sampling (0: off)."""
    min_p: float = Field(default=0.05, ge=0.0, le=1.0)
    """Min-p sampling."""
    typical_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Locally typical sampling (1: off)."""
    repeat_penalty: float = Field(default=1.0, ge=0.0)
    """Penalty for repeated tokens (1: off, llama.cpp's and llama-cpp-python's default, so
    greedy output equals theirs; community `LlamaCpp` used 1.1)."""
    frequency_penalty: float = 0.0
    """OpenAI-style frequency penalty."""
    presence_penalty: float = 0.0
    """OpenAI-style presence penalty."""
    mirostat_mode: int = Field(default=0, ge=0, le=2)
    """Mirostat sampling (0: off, 1 or 2)."""
    mirostat_tau: float = 5.0
    """Mirostat target entropy."""
    mirostat_eta: float = 0.1
    """Mirostat learning rate."""
    stop: list[str] | None = None
    """Stop strings; decoding halts when one appears (it is not returned)."""
    grammar_path: str | Path | None = None
    """A GBNF grammar file constraining every generation."""
    grammar: Any = None
    """A GBNF grammar (string or `llama_cpp.LlamaGrammar`) constraining every generation."""
    prompt_lookup: int | None = Field(default=None, ge=0, strict=True)
    """Prompt-lookup speculative decoding: up to this many tokens, guessed by finding the
    last few tokens earlier in the prompt or the reply, are checked per decoding step (None
    or 0: off). Each kept token is the sampler's own pick, so the reply is the one decoding
    a token at a time gives up to llama.cpp's rounding, which differs slightly between a
    batch and one token on quantized models; replies that copy their context (RAG answers,
    summaries, extractions) come faster. Also a call option.
    Not used with `logits_processor` / `logit_bias`, or by the `logprobs`/`echo`/`suffix`
    path."""

    @model_validator(mode="after")
    def _check_sampling_params(self) -> Self:
        if self.grammar is not None and self.grammar_path is not None:
            raise ValueError("Pass either `grammar` or `grammar_path`, not both.")
        text = self._grammar_text()
        problem = grammar_problem(text) if text else None
        if problem is not None:
            raise ValueError(f"Invalid GBNF grammar: {problem} GBNF is described at {GBNF_DOCS}")
        return self

    def _grammar_text(self) -> str | None:
        """The grammar's text, from `grammar` or `grammar_path` (None: no grammar).

        Raises:
            GrammarError: The grammar file cannot be read, or is empty; `grammar` is neither
                a string nor a `llama_cpp.LlamaGrammar`.
        """
        if self.grammar_path is not None:
            return _read_grammar_file(self.grammar_path)
        if self.grammar is None or isinstance(self.grammar, str):
            return self.grammar
        text = getattr(self.grammar, "_grammar", None)
        if isinstance(text, str):
            return text
        raise GrammarError(
            f"grammar must be a GBNF string or a llama_cpp.LlamaGrammar, not "
            f"{type(self.grammar).__name__}. GBNF is described at {GBNF_DOCS}",
            repr(self.grammar),
        )

    def _sampling(self, stop: list[str] | None, kwargs: dict[str, Any]) -> SamplingParams:
        self._check_call_options(kwargs)
        grammar = kwargs.get("grammar", self._grammar_text())
        if grammar is not None and not isinstance(grammar, str):
            grammar = getattr(grammar, "_grammar", grammar)
            if not isinstance(grammar, str):
                raise GrammarError(
                    f"The call option grammar={kwargs['grammar']!r} is neither a GBNF string "
                    f"nor a llama_cpp.LlamaGrammar. GBNF is described at {GBNF_DOCS}",
                    repr(kwargs["grammar"]),
                )
        seed = kwargs.get("seed", self.seed)
        processor = kwargs.get("logits_processor")
        if kwargs.get("logit_bias"):
            processor = _logit_bias_processor(kwargs["logit_bias"], processor)
        return SamplingParams.resolve(
            self,
            kwargs,
            seed=seed if seed is not None and seed >= 0 else None,
            stop=merge_stop(self.stop, stop),
            grammar=grammar,
            logits_processor=processor,
        )

    def get_num_tokens(self, text: str) -> int:
        """Count tokens with the model's own tokenizer (loads the model)."""
        return len(self.engine.tokenize(text, add_bos=False))

    def get_token_ids(self, text: str) -> list[int]:
        """Token ids of `text` in the model's own vocabulary (loads the model)."""
        return self.engine.tokenize(text, add_bos=False)


def _read_grammar_file(path: str | Path) -> str:
    """The text of a GBNF file.

    Raises:
        GrammarError: It cannot be read, or is empty (it would constrain nothing).
    """
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GrammarError(
            f"Grammar file not found: {p}. Check `grammar_path`, or pass the grammar's text "
            "as `grammar=`.",
            str(p),
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise GrammarError(
            f"Cannot read the grammar file {p}: {e}. `grammar_path` must name a UTF-8 GBNF "
            "text file.",
            str(p),
        ) from None
    if not text.strip():
        raise GrammarError(
            f"The grammar file {p} is empty, so it would constrain nothing. Write a GBNF "
            f"grammar with a `root` rule in it (see {GBNF_DOCS}).",
            str(p),
        )
    return text


def _logit_bias_processor(bias: Mapping[Any, float], then: Any = None) -> list[Any]:
    """Logits processors (llama-cpp-python's list form): `then`'s, then `bias` added to scores.

    `bias` is OpenAI's `logit_bias`: {token id: value added to that token's logit}.
    """
    items = [(int(token), float(value)) for token, value in bias.items()]

    def apply(input_ids: Any, scores: Any) -> Any:
        for token, value in items:
            scores[token] += value
        return scores

    previous = (
        []
        if then is None
        else [then]
        if callable(then) and not isinstance(then, list)
        else list(then)
    )
    return [*previous, apply]


__all__ = ["LlamaCppLoadParams", "LlamaCppParams"]

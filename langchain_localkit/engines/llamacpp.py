"""The llama.cpp engine (llama-cpp-python, in-process): load once, tokenize, generate per token.

Nothing LangChain-specific lives here. The faces (`LlamaCpp`, `ChatLlamaCpp`, embeddings) call
`LlamaCppEngine.stream`, which yields text deltas and ends with a `GenerationInfo`.

The engine's parts: `llamacpp_runtime` (the guarded import of llama_cpp), `llamacpp_load`
(load options, loading, spare contexts, the model cache), `llamacpp_decode` (sampling and the
per-token decode loop), `llamacpp_amx` (whether llama.cpp's extra buffer types are safe here)
and `gbnf` (grammars). What the faces use of them (`LlamaLoadOptions`, `SamplingParams`,
`import_llama_cpp`, `clear_model_cache`, `DEFAULT_N_CTX`) is importable from here too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Generator, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from langchain_localkit._core.errors import ContextOverflowError
from langchain_localkit._core.generation import GenerationInfo
from langchain_localkit._core.gguf import GGUFInfo, read_gguf_info
from langchain_localkit._core.models import LoadedModel
from langchain_localkit.engines.base import InProcessEngine
from langchain_localkit.engines.gbnf import check_grammar
from langchain_localkit.engines.llamacpp_amx import decide_extra_bufts
from langchain_localkit.engines.llamacpp_decode import (
    SamplingParams,
    control_stop_ids,
    ctx_limit,
    decode,
    perf_totals,
    run_info,
    sampler_kwargs,
    tokenize,
)
from langchain_localkit.engines.llamacpp_load import (
    DEFAULT_N_CTX,
    LlamaLoadOptions,
    _load_llama,
    clear_model_cache,
    new_handle,
)
from langchain_localkit.engines.llamacpp_load import _llama_kwargs as _llama_kwargs
from langchain_localkit.engines.llamacpp_load import _spare_context as _spare_context
from langchain_localkit.engines.llamacpp_prompt_cache import PromptCache
from langchain_localkit.engines.llamacpp_runtime import import_llama_cpp
from langchain_localkit.engines.stops import held_back as _held_back  # noqa: F401 - old name

if TYPE_CHECKING:
    import llama_cpp


class LlamaCppEngine(InProcessEngine[LlamaLoadOptions]):
    """One GGUF file in llama.cpp, loaded on first use and shared through the model cache.

    Args:
        options: Load options; equal options share one loaded model.

    Example:
        >>> engine = LlamaCppEngine(LlamaLoadOptions("model.gguf"))  # doctest: +SKIP
        >>> for item in engine.stream("Hello", SamplingParams(max_tokens=8)):  # doctest: +SKIP
        ...     print(item)
    """

    supports_grammar = True
    supports_embeddings = True
    _new_handle = staticmethod(new_handle)
    prompt_cache: PromptCache | None = None
    """Saved prompt states on disk, restored by shared prefix (None: only the context's own)."""

    def _read_info(self) -> GGUFInfo:
        return read_gguf_info(self.options.model_path)

    def _prepare_load(self) -> tuple[Hashable, Callable[[], Any]]:
        info = self.info()
        options = self.options
        if options.use_extra_bufts is None:
            decision = decide_extra_bufts(llama_cpp=import_llama_cpp())
            options = dataclasses.replace(options, use_extra_bufts=decision.use_extra_bufts)
        return options.cache_key(), functools.partial(_load_llama, options, info)

    @property
    def llama(self) -> llama_cpp.Llama:
        """The underlying `llama_cpp.Llama` (loads the model if needed)."""
        return self.load()[0].model

    def n_ctx(self) -> int:
        """The context window the model was loaded with."""
        return ctx_limit(self.llama)

    def tokenize(self, text: str, *, add_bos: bool = True, special: bool = True) -> list[int]:
        """Tokenize `text` as a prompt: BOS added when the model wants it and it is not there.

        Args:
            text: The text.
            add_bos: Add the BOS token if the model's tokenizer asks for it.
            special: Parse special tokens written as text (e.g. `<start_of_turn>`).
        """
        return tokenize(self.llama, text, add_bos=add_bos, special=special)

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Text of `tokens` (special tokens omitted)."""
        return bytes(self.llama.detokenize(list(tokens))).decode("utf-8", errors="replace")

    def stream(
        self,
        prompt: str | Sequence[int],
        params: SamplingParams,
        *,
        cancel: threading.Event | None = None,
    ) -> Iterator[str | GenerationInfo]:
        """Generate from `prompt`, yielding text deltas and finally one `GenerationInfo`.

        Decoding halts at the first stop string (which is not yielded), at end of generation,
        at `max_tokens`, or when `cancel` is set. The model is held for the whole iteration;
        closing the iterator early releases it.

        Raises:
            ContextOverflowError: The prompt does not fit the context window (before decoding).
            GrammarError: llama.cpp cannot use `params.grammar` (before decoding).
        """
        entry, _ = self.load()
        return self._stream(entry, self._take_load_ms(), prompt, params, cancel)

    def _stream(
        self,
        entry: LoadedModel[Any],
        load_ms: float | None,
        prompt: str | Sequence[int],
        params: SamplingParams,
        cancel: threading.Event | None,
    ) -> Iterator[str | GenerationInfo]:
        with (
            entry.lease() as lease,
            contextlib.closing(
                self._decode(entry, lease.model, load_ms, prompt, params, cancel)
            ) as items,
        ):
            for item in items:
                lease.pause()
                yield item
                lease.resume()

    def _decode(
        self,
        entry: LoadedModel[Any],
        llm: Any,
        load_ms: float | None,
        prompt: str | Sequence[int],
        params: SamplingParams,
        cancel: threading.Event | None,
    ) -> Generator[str | GenerationInfo, None, None]:
        start = time.perf_counter()
        if params.grammar:
            check_grammar(llm, params.grammar)
        tokens = self.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
        prefill = self.prompt_cache.call() if self.prompt_cache is not None else None
        items = decode(
            llm,
            tokens,
            params,
            stop_ids=control_stop_ids(entry, params.stop),
            cancel=cancel,
            start=start,
            load_ms=load_ms,
            model_name=self.model_name,
            prefill=prefill,
        )
        with contextlib.closing(items):
            for item in items:
                if prefill is not None and isinstance(item, GenerationInfo):
                    prefill.annotate(item)
                yield item

    def embed(
        self, texts: Sequence[str], *, normalize: bool = True, truncate: bool = True
    ) -> list[list[float]]:
        """Embed `texts` (the model must be loaded with `embedding=True`).

        Token-level outputs (pooling "none") are mean-pooled, so every text gives one vector.

        Raises:
            ContextOverflowError: A text is longer than the batch and `truncate` is False.
        """
        entry, _ = self.load()
        with entry.lease() as lease:
            llm = lease.model
            if not truncate:
                limit = llm.n_batch
                for text in texts:
                    n = len(llm.tokenize(text.encode("utf-8")))
                    if n > limit:
                        raise ContextOverflowError(
                            n, limit, "Split the text, or raise `n_batch`/`n_ctx`."
                        )
            data = llm.embed(list(texts), normalize=False, truncate=True)
        vectors: list[list[float]] = []
        for item in data:
            if item and isinstance(item[0], list):
                n = len(item)
                item = [sum(col) / n for col in zip(*item, strict=True)]
            vec = [float(x) for x in item]
            if normalize:
                norm = sum(x * x for x in vec) ** 0.5
                if norm > 0:
                    vec = [x / norm for x in vec]
            vectors.append(vec)
        return vectors

    def complete(
        self, prompt: str, params: SamplingParams, **extra: Any
    ) -> tuple[dict[str, Any], GenerationInfo]:
        """One non-streaming `create_completion` call, for options only it offers.

        Used for `logprobs`, `echo` and `suffix` (fill-in-the-middle); everything else goes
        through `stream`.
        """
        llama_cpp = import_llama_cpp()
        entry, _ = self.load()
        load_ms = self._take_load_ms()
        with entry.lease() as lease:
            llm = lease.model
            start = time.perf_counter()
            if params.grammar:
                check_grammar(llm, params.grammar)
            n_prompt = len(self.tokenize(prompt))
            if n_prompt >= ctx_limit(llm):
                raise ContextOverflowError(n_prompt, ctx_limit(llm))
            llama_cpp.llama_perf_context_reset(llm.ctx)
            response = llm.create_completion(
                prompt,
                **sampler_kwargs(params),
                temperature=params.temperature,
                max_tokens=params.max_tokens,
                seed=params.seed if params.seed is not None and params.seed >= 0 else None,
                stop=list(params.stop),
                **extra,
            )
            total_ms = (time.perf_counter() - start) * 1e3
            perf = perf_totals(llama_cpp.llama_perf_context(llm.ctx))
        usage = response.get("usage") or {}
        choice = response["choices"][0]
        info = run_info(
            finish="stop" if choice.get("finish_reason") == "stop" else "length",
            stop_reason=None,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            perf=perf,
            total_ms=total_ms,
            load_ms=load_ms,
            ttft_ms=None,
            model_name=self.model_name,
        )
        return choice, info


__all__ = [
    "DEFAULT_N_CTX",
    "GenerationInfo",
    "LlamaCppEngine",
    "LlamaLoadOptions",
    "SamplingParams",
    "clear_model_cache",
    "import_llama_cpp",
]

"""`GPT4All`: a GGUF model in the gpt4all bindings, text in, text out, offline by default."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult

from langchain_localkit._core.langchain import join_chunks, llm_output
from langchain_localkit._core.streaming import iterate_in_thread
from langchain_localkit._gpt4all import GPT4AllParams
from langchain_localkit._llamacpp import generation_info


class GPT4All(GPT4AllParams, BaseLLM):
    """A GGUF model run in-process by the gpt4all bindings (2.8.2).

    The successor of langchain-community's `GPT4All`: the same parameters, plus stop strings
    that halt decoding, native async streaming, and token counts and timings in
    `generation_info` (counted by the bindings' own callbacks, timed around them). As with the
    community class, callbacks see every token, also on `invoke`. Nothing is
    downloaded: `allow_download` is off unless you set it, and `model` is a path.

    gpt4all 2.8.2 bundles a llama.cpp from July 2024: it loads llama, qwen2, phi3, gemma and
    gemma2 GGUFs, not newer architectures such as gemma3 (use `LlamaCpp` for those; the error
    says so before anything loads).

    Setup:
        `pip install 'langchain-localkit[gpt4all]'`

    Key init args:
        model: path of the `.gguf` file. n_ctx, n_threads, device: loading.
        max_tokens, temp, top_k, top_p, repeat_penalty, n_batch, stop: sampling.

    Example:
        .. code-block:: python

            from langchain_localkit import GPT4All

            llm = GPT4All(model="models/qwen2-1_5b-instruct-q4_0.gguf", max_tokens=64)
            llm.invoke("The first man on the moon was")
            for chunk in llm.stream("The first man on the moon was", stop=["."]):
                print(chunk, end="|", flush=True)
    """

    @property
    def _llm_type(self) -> str:
        return "gpt4all"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "n_ctx": self.n_ctx,
            "max_tokens": self.max_tokens,
            "temp": self.temp,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "repeat_penalty": self.repeat_penalty,
            "stop": self.stop,
        }

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        params = self._sampling(stop, kwargs)
        for item in self.engine.stream(prompt, params):
            if isinstance(item, str):
                chunk = GenerationChunk(text=item)
                if run_manager:
                    run_manager.on_llm_new_token(item, chunk=chunk)
                yield chunk
            else:
                yield GenerationChunk(text="", generation_info=generation_info(item))

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        params = self._sampling(stop, kwargs)
        engine = self.engine
        async for item in iterate_in_thread(
            lambda cancel: engine.stream(prompt, params, cancel=cancel)
        ):
            if isinstance(item, str):
                chunk = GenerationChunk(text=item)
                if run_manager:
                    await run_manager.on_llm_new_token(item, chunk=chunk)
                yield chunk
            else:
                yield GenerationChunk(text="", generation_info=generation_info(item))

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations: list[list[Generation]] = [
            [join_chunks(self._stream(p, stop=stop, run_manager=run_manager, **kwargs))]
            for p in prompts
        ]
        return LLMResult(generations=generations, llm_output=llm_output(generations))

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations: list[list[Generation]] = []
        for prompt in prompts:
            chunks = [
                c async for c in self._astream(prompt, stop=stop, run_manager=run_manager, **kwargs)
            ]
            generations.append([join_chunks(chunks)])
        return LLMResult(generations=generations, llm_output=llm_output(generations))


__all__ = ["GPT4All"]

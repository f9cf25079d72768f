"""`GPT4All`: a GGUF model in the gpt4all bindings, text in, text out, offline by default."""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any

from langchain_localkit._core.generation import GenerationInfo
from langchain_localkit._faces.llm import LocalLLM
from langchain_localkit._gpt4all import GPT4AllParams


class GPT4All(GPT4AllParams, LocalLLM):
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

    def _streams_on_invoke(self) -> bool:
        return True  # as in community: callbacks see every token, whatever `streaming` says

    def _generation(
        self,
        prompt: str,
        stop: list[str] | None,
        kwargs: dict[str, Any],
        cancel: threading.Event | None = None,
    ) -> Generator[str | GenerationInfo, None, None]:
        yield from self.engine.stream(prompt, self._sampling(stop, kwargs), cancel=cancel)


__all__ = ["GPT4All"]

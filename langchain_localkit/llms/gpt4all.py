"""`GPT4All`: a GGUF model in the gpt4all bindings, text in, text out, offline by default."""

from __future__ import annotations

from collections.abc import Iterator
from threading import Event
from typing import Any, ClassVar

from langchain_localkit._core.reasoning import Reasoning
from langchain_localkit._faces.llm import Item, LocalLLM, TextCall, text_thoughts
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

    _llm_type_name: ClassVar[str] = "gpt4all"
    _identifying_fields: ClassVar[str] = (
        "model n_ctx max_tokens temp top_k top_p repeat_penalty stop"
    )

    def _streams_on_invoke(self) -> bool:
        return True  # as in community: callbacks see every token, whatever `streaming` says

    def _generation(self, call: TextCall, cancel: Event | None = None) -> Iterator[Item]:
        kwargs = dict(call.options)
        reasoning = self._reasoning_of(kwargs)
        params = self._sampling(call.stop, kwargs)
        thinking = self._thinking(call.prompt, reasoning)
        stream = self.engine.stream(thinking.prompt, params, cancel=cancel)
        return text_thoughts(stream, thinking.splitter())

    def _thinking(self, prompt: str, reasoning: Reasoning) -> Any:
        """How this prompt's reply treats thoughts (a `ThinkingPlan`).

        The model's thought format comes from its GGUF template or family when `reasoning`
        is set; with None the output is left as the model writes it.
        """
        from langchain_localkit.prompts.thinking import plan_thinking, thought_format_of

        fmt = None
        if reasoning is not None:
            from langchain_localkit.prompts import detect

            fmt = thought_format_of(detect(self.model))
        return plan_thinking(prompt, fmt, reasoning)


__all__ = ["GPT4All"]

"""`LlamaCpp`: a GGUF model in llama.cpp (llama-cpp-python), text in, text out."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from threading import Event
from typing import Any, ClassVar

from langchain_core.language_models import LanguageModelInput
from langchain_core.prompt_values import PromptValue, StringPromptValue

from langchain_localkit._core.generation import TextDelta
from langchain_localkit._faces.llm import Item, LocalLLM, TextCall, text_thoughts
from langchain_localkit._llamacpp import SAMPLING_OPTIONS, LlamaCppParams

_COMPLETION_OPTIONS = frozenset({"logprobs", "suffix", "echo"})


class LlamaCpp(LlamaCppParams, LocalLLM):
    """A GGUF model run in-process by llama.cpp (through llama-cpp-python).

    The successor of langchain-community's `LlamaCpp`: the same parameters, with the model
    loaded once on first use and shared by every wrapper on the same file and load options,
    decoding that halts at stop strings, native async streaming that stops decoding when you
    stop reading, and token counts plus llama.cpp's timings in `generation_info`.

    Setup:
        `pip install 'langchain-localkit[llamacpp]'` (builds llama.cpp from source).

    Key init args:
        model_path: the `.gguf` file. n_ctx, n_batch, n_gpu_layers, n_threads: loading.
        max_tokens, temperature, top_p, top_k, repeat_penalty, seed, stop: sampling.
        verbose: print llama.cpp's timing report after each call.

    Instantiate:
        .. code-block:: python

            from langchain_localkit import LlamaCpp

            llm = LlamaCpp(model_path="models/llama-2-13b-chat.Q4_0.gguf", n_ctx=2048)

    Invoke:
        .. code-block:: python

            llm.invoke("The first man on the moon was")

    Stream:
        .. code-block:: python

            for chunk in llm.stream("The first man on the moon was"):
                print(chunk, end="|", flush=True)

    Async:
        .. code-block:: python

            await llm.ainvoke("The first man on the moon was")
            async for chunk in llm.astream("The first man on the moon was"):
                ...

    Token counts and timings:
        .. code-block:: python

            result = llm.generate(["The first man on the moon was"])
            info = result.generations[0][0].generation_info
            info["usage"]  # {"input_tokens": 8, "output_tokens": 40, "total_tokens": 48}
            info["timings"]["eval_tokens_per_second"]
    """

    _call_options: ClassVar[frozenset[str]] = SAMPLING_OPTIONS | _COMPLETION_OPTIONS

    streaming: bool = True
    """Decode through the streaming path on `invoke`, so callbacks see every token."""
    logprobs: int | None = None
    """Return this many log-probabilities per token (needs `logits_all=True`)."""
    echo: bool = False
    """Return the prompt followed by the completion."""
    suffix: str | None = None
    """Text after the completion, for fill-in-the-middle models."""
    apply_chat_template: bool = False
    """Render each prompt in the model's chat format (its special tokens) before generating,
    and stop at the end of the model's turn. Off by default: raw prompts stay raw."""
    chat_format: str | None = None
    """The model family ("llama2", "gemma", ...) to use instead of the detected one."""
    chat_template: str | None = None
    """A Jinja chat template to use instead of the GGUF file's own."""

    _llm_type_name: ClassVar[str] = "llamacpp"
    _identifying_fields: ClassVar[str] = (
        "model_path n_ctx max_tokens temperature top_p top_k repeat_penalty seed stop"
    )

    def _convert_input(self, model_input: LanguageModelInput) -> PromptValue:
        value = super()._convert_input(model_input)
        if not self.apply_chat_template:
            return value
        from langchain_localkit.prompts import format_prompt_for

        return StringPromptValue(text=format_prompt_for(self, value).prompt)

    def _template_stops(self) -> list[str]:
        if not self.apply_chat_template:
            return []
        from langchain_localkit.prompts import detect

        family = detect(self).family
        return list(family.stop) if family is not None else []

    def _completion_options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """`logprobs`, `suffix` and `echo` for this call (call options win over fields)."""
        return {
            "logprobs": kwargs.pop("logprobs", self.logprobs),
            "suffix": kwargs.pop("suffix", self.suffix),
            "echo": kwargs.pop("echo", self.echo),
        }

    def _generation(self, call: TextCall, cancel: Event | None = None) -> Iterator[Item]:
        prompt, stop, kwargs = call.prompt, call.stop, dict(call.options)
        reasoning = self._reasoning_of(kwargs)
        options = self._completion_options(kwargs)
        thinking = self._thinking(prompt, reasoning)
        if options["logprobs"] is not None or options["suffix"] is not None:
            if options["logprobs"] is not None and not self.logits_all:
                raise ValueError(
                    "logprobs needs the logits of every token: load the model with "
                    "`LlamaCpp(..., logits_all=True)`."
                )
            params = self._sampling(stop, kwargs)
            choice, info = self.engine.complete(thinking.prompt, params, **options)
            info.extra["logprobs"] = choice.get("logprobs")
            splitter = None if options["echo"] else thinking.splitter()  # echo: prompt first
            if splitter is None:
                yield from (choice["text"], info)
                return
            pieces = [*splitter.feed(choice["text"]), *splitter.flush()]
            if splitter.thought:  # one piece for the whole reply: count the thought's tokens
                thought = self.engine.tokenize(splitter.thought, add_bos=False, special=False)
                info.reasoning_tokens = min(len(thought), info.completion_tokens)
            yield from (p.text if isinstance(p, TextDelta) else p for p in pieces)
            yield info
            return
        params = self._sampling([*(stop or []), *self._template_stops()], kwargs)
        if thinking.split and thinking.fmt is not None and not thinking.fmt.tagged:
            params = dataclasses.replace(params, render_special=True)  # Harmony's markers
        if options["echo"]:
            yield prompt
        stream = self.engine.stream(thinking.prompt, params, cancel=cancel)
        yield from text_thoughts(stream, thinking.splitter())

    def _thinking(self, prompt: str, reasoning: Any) -> Any:
        """How this prompt's reply treats thoughts (a `ThinkingPlan`).

        The model's thought format comes from its template or family when `reasoning` is set.
        """
        from langchain_localkit.prompts.thinking import plan_thinking, thought_format_of

        fmt = None
        if reasoning is not None:
            from langchain_localkit.prompts import detect

            target = self.chat_template or self.chat_format or detect(self.model_path)
            fmt = thought_format_of(target)
        return plan_thinking(prompt, fmt, reasoning)


__all__ = ["LlamaCpp"]

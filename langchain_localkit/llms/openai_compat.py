"""`OpenAICompatible`: a text-completion model on any OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from threading import Event
from typing import Any, ClassVar

from langchain_localkit._core.reasoning import ThoughtSplitter
from langchain_localkit._faces.llm import (
    Item,
    LocalLLM,
    TextCall,
    atext_thoughts,
    text_thoughts,
)
from langchain_localkit._openai_compat import OpenAICompatParams
from langchain_localkit.engines.http.openai import completion_request
from langchain_localkit.engines.openai_compat import ServerFacts


class OpenAICompatible(OpenAICompatParams, LocalLLM):
    """A text-in, text-out model on an OpenAI-compatible server's `POST /v1/completions`.

    The prompt is sent as it is (no chat template): for base models, raw prompts and
    `prompt | llm` chains. Streamed, with usage and timings in `generation_info`; `abatch`
    sends every prompt at once (the server decodes them in parallel slots). See
    `ChatOpenAICompatible` for the servers and presets.

    Setup:
        Start a server with `/v1/completions`: llama-server, vLLM, LM Studio, Ollama,
        LocalAI, KoboldCpp (not llamafile's older server: use `Llamafile` there).

    Example:
        .. code-block:: python

            from langchain_localkit import OpenAICompatible

            llm = OpenAICompatible(server="vllm", model="Qwen/Qwen3-4B", max_tokens=64)
            llm.invoke("The three primary colours are")
            info = llm.generate(["Hello"]).generations[0][0].generation_info
            info["usage"], info["timings"]["eval_tokens_per_second"]
    """

    _concurrent_prompts: ClassVar[bool] = True
    _llm_type_name: ClassVar[str] = "openai-compatible"
    _identifying_fields: ClassVar[str] = (
        "base_url server model max_tokens temperature top_p top_k seed stop"
    )

    def _request(self, call: TextCall, facts: ServerFacts) -> dict[str, Any]:
        return self._prepared(call, facts)[0]

    def _prepared(
        self, call: TextCall, facts: ServerFacts
    ) -> tuple[dict[str, Any], ThoughtSplitter | None]:
        """The request, and the splitter of its reply (None: the text is left as it is).

        With `reasoning` set, the thoughts in the text (no server parses them on
        `/v1/completions`) are split out; their format is the one the chat template of a
        llama.cpp server writes, else `<think>`.
        """
        p = facts.preset
        if not p.completions:
            raise ValueError(
                f"{p.title} has no /v1/completions; use `ChatOpenAICompatible`, or `Llamafile` "
                "for llamafile's own /completion endpoint."
            )
        options = dict(call.options)
        reasoning = self._reasoning_of(options)
        prompt, splitter = call.prompt, None
        if reasoning is not None:
            from langchain_localkit.prompts.thinking import plan_thinking, thought_format_of

            template = facts.props.chat_template if facts.props is not None else None
            fmt = thought_format_of(template) if template else None
            thinking = plan_thinking(prompt, fmt, reasoning)
            prompt, splitter = thinking.prompt, thinking.splitter()
        params = self._params(p, call.stop, options)
        max_tokens = params.pop("max_tokens")
        body = completion_request(
            prompt,
            params=params,
            model=facts.model_for(self.model),
            max_tokens=max_tokens,
            stream_usage=p.stream_usage,
        )
        return body, splitter

    def _generation(self, call: TextCall, cancel: Event | None = None) -> Iterator[Item]:
        engine = self.engine
        body, splitter = self._prepared(call, engine.facts())
        return text_thoughts(engine.text(body, model_name=self.model), splitter)

    async def _ageneration(self, call: TextCall) -> AsyncIterator[Item]:
        engine = self.engine
        body, splitter = self._prepared(call, await engine.afacts())
        async for item in atext_thoughts(engine.atext(body, model_name=self.model), splitter):
            yield item


__all__ = ["OpenAICompatible"]

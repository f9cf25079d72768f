"""`Llamafile`: text in, text out, from a llamafile or a llama.cpp server over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from threading import Event
from typing import Any, ClassVar

from langchain_core.outputs import Generation

from langchain_localkit._core.generation import GenerationInfo, ReasoningDelta
from langchain_localkit._core.reasoning import Reasoning, ThoughtSplitter
from langchain_localkit._faces.llm import (
    Item,
    LocalLLM,
    TextCall,
    atext_thoughts,
    text_thoughts,
)
from langchain_localkit._llamafile import LlamafileConnection, LlamafileParams
from langchain_localkit.engines.llamafile import ServerInfo


def server_generation_info(info: GenerationInfo) -> dict[str, Any]:
    """The `generation_info` of a finished server call.

    The keys every LLM face has (`finish_reason`, `stop_reason`, `model_name`, `usage`,
    `timings`), plus the server's own (`stop_type`, `tokens_cached`, ...).

    Example:
        >>> from langchain_localkit.engines.llamafile import generation_from_final
        >>> info = generation_from_final(
        ...     {"stop_type": "limit", "tokens_predicted": 3}, model_name="m"
        ... )
        >>> server_generation_info(info)["finish_reason"]
        'length'
    """
    return info.to_generation_info()


class Llamafile(LlamafileParams, LocalLLM):
    """A model served by a llamafile or by llama.cpp's `llama-server`, over HTTP.

    The successor of langchain-community's `Llamafile`: the same parameters and the same
    no-argument start (`Llamafile()` talks to `http://localhost:8080`), with native async
    streaming on httpx (stopping the stream stops the server's generation), the server's
    token counts, stop reason and timings in `generation_info`, and errors that say what to
    do (no server, still loading, crashed mid-reply, an HTTP error with the server's message).
    Prompts are sent as they are, to the native `/completion` endpoint.

    Setup:
        Run a llamafile as a server, `./model.llamafile --server --nobrowser`, or llama.cpp's
        `llama-server -m model.gguf --port 8080`. No extra Python package is needed.

    Key init args:
        base_url: the server (default `http://localhost:8080`). request_timeout: seconds.
        max_tokens (or n_predict), temperature, top_k, top_p, min_p, repeat_penalty, seed,
        stop, grammar, json_schema: sampling, in the server's names.

    Instantiate:
        .. code-block:: python

            from langchain_localkit import Llamafile

            llm = Llamafile()  # http://localhost:8080

    Invoke, stream, async:
        .. code-block:: python

            llm.invoke("Name three rivers in Europe:")
            for chunk in llm.stream("Name three rivers in Europe:"):
                print(chunk, end="|", flush=True)
            await llm.ainvoke("Name three rivers in Europe:")

    Token counts and timings:
        .. code-block:: python

            info = llm.generate(["Hello"]).generations[0][0].generation_info
            info["usage"], info["timings"]["eval_tokens_per_second"], info["stop_type"]
    """

    streaming: bool = True
    """Stream from the server on `invoke` too, so callbacks see every token. False sends one
    non-streaming request per prompt."""

    _concurrent_prompts: ClassVar[bool] = True

    _llm_type_name: ClassVar[str] = "llamafile"
    _identifying_fields: ClassVar[str] = (
        "base_url model max_tokens temperature top_k top_p seed stop"
    )

    def _prepared(
        self, call: TextCall, info: ServerInfo | None
    ) -> tuple[dict[str, Any], ThoughtSplitter | None]:
        """The request, and the splitter of its reply (None: the text is left as it is)."""
        options = dict(call.options)
        reasoning = self._reasoning_of(options)
        body = self._body(call.stop, options)
        if reasoning is None:
            return {"prompt": call.prompt, **body}, None
        thinking = server_thinking(call.prompt, info, reasoning)
        return {"prompt": thinking.prompt, **body}, thinking.splitter()

    def _info_for(self, call: TextCall) -> ServerInfo | None:
        """`/props`, read only when the call sets `reasoning` (its template's thought format)."""
        return self.engine.info() if _reasoning_set(self, call) else None

    async def _ainfo_for(self, call: TextCall) -> ServerInfo | None:
        return await self.engine.ainfo() if _reasoning_set(self, call) else None

    def _request(self, call: TextCall) -> dict[str, Any]:
        return self._prepared(call, self._info_for(call))[0]

    def _generation(self, call: TextCall, cancel: Event | None = None) -> Iterator[Item]:
        body, splitter = self._prepared(call, self._info_for(call))
        stream = self.engine.stream_completion(body, model_name=self.model or "")
        return text_thoughts(stream, splitter)

    async def _ageneration(self, call: TextCall) -> AsyncIterator[Item]:
        body, splitter = self._prepared(call, await self._ainfo_for(call))
        stream = self.engine.astream_completion(body, model_name=self.model or "")
        async for item in atext_thoughts(stream, splitter):
            yield item

    def _complete(self, call: TextCall) -> Generation:
        body, splitter = self._prepared(call, self._info_for(call))
        text, info = self.engine.complete(body, model_name=self.model or "")
        return joined(text, info, splitter)

    async def _acomplete(self, call: TextCall) -> Generation:
        body, splitter = self._prepared(call, await self._ainfo_for(call))
        text, info = await self.engine.acomplete(body, model_name=self.model or "")
        return joined(text, info, splitter)


def _reasoning_set(face: LlamafileParams, call: TextCall) -> bool:
    return face._reasoning_of(dict(call.options)) is not None


def server_thinking(prompt: str, info: ServerInfo | None, reasoning: Reasoning) -> Any:
    """How a raw prompt's reply treats thoughts (a `ThinkingPlan`).

    The thought format is the one the server's chat template writes (`<think>` when it names
    none); a prompt that ends inside an open thought starts the reply thinking.
    """
    from langchain_localkit.prompts.thinking import plan_thinking, thought_format_of

    template = info.chat_template if info is not None else None
    fmt = thought_format_of(template) if template else None
    return plan_thinking(prompt, fmt, reasoning)


def joined(text: str, info: GenerationInfo, splitter: ThoughtSplitter | None) -> Generation:
    """One non-streamed answer, its thoughts split out into `reasoning_content`."""
    items: Iterable[Item] = text_thoughts(iter((text, info)), splitter)
    parts: list[str] = []
    thoughts: list[str] = []
    for item in items:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, ReasoningDelta):
            thoughts.append(item.text)
    generation_info = info.to_generation_info()
    if thoughts:
        generation_info["reasoning_content"] = "".join(thoughts)
    return Generation(text="".join(parts), generation_info=generation_info)


__all__ = [
    "Llamafile",
    "LlamafileConnection",
    "LlamafileParams",
    "joined",
    "server_generation_info",
    "server_thinking",
]

"""`LocalLLM`: the text-in, text-out skeleton every runtime's `BaseLLM` face stands on.

A face supplies one generator, `_generation(prompt, stop, kwargs, cancel)`, in the engines'
stream shape (`str` deltas, then one `GenerationInfo`). The skeleton turns it into LangChain
chunks and callbacks, runs it asynchronously (in a worker thread, unless the face has native
async), and builds `invoke`/`generate` results as the joined stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from threading import Event
from typing import Any, ClassVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult

from langchain_localkit._core.generation import GenerationInfo, ReasoningDelta, TextDelta
from langchain_localkit._core.langchain import join_chunks, llm_output
from langchain_localkit._core.reasoning import ThoughtSplitter, split_item, split_items
from langchain_localkit._core.streaming import iterate_in_thread

Item = str | ReasoningDelta | GenerationInfo
"""What a face's generation yields: text, thoughts kept apart, then one `GenerationInfo`."""


@dataclass(frozen=True, slots=True)
class TextCall:
    """One prompt of an LLM call: the text, the call's stop strings and its options."""

    prompt: str
    stop: list[str] | None
    options: dict[str, Any]


def _chunk(item: Item) -> GenerationChunk:
    if isinstance(item, str):
        return GenerationChunk(text=item)
    if isinstance(item, ReasoningDelta):
        return GenerationChunk(text="", generation_info={"reasoning_content": item.text})
    return GenerationChunk(text="", generation_info=item.to_generation_info())


def text_thoughts(
    items: Iterator[str | GenerationInfo], splitter: ThoughtSplitter | None
) -> Iterator[Item]:
    """An engine stream with its thoughts split out (`Item`s; unchanged without a splitter)."""
    if splitter is None:
        yield from items
        return
    for event in split_items(items, splitter):
        yield event.text if isinstance(event, TextDelta) else event


async def atext_thoughts(
    items: AsyncIterator[str | GenerationInfo], splitter: ThoughtSplitter | None
) -> AsyncIterator[Item]:
    """The async `text_thoughts`."""
    async for item in items:
        if splitter is None:
            yield item
            continue
        for event in split_item(item, splitter):
            yield event.text if isinstance(event, TextDelta) else event


class LocalLLM(BaseLLM):
    """The skeleton of a `BaseLLM` face: stream, async stream, generate, batch, written once.

    Hooks:
        `_generation`: the engine stream of one prompt (required).
        `_ageneration`: its native async twin (default: `_generation` in a worker thread that
            stops decoding when the consumer stops).
        `_complete` / `_acomplete`: one non-streamed answer, for `invoke` when the face's
            `streaming` is off (default: the joined stream).
    """

    _concurrent_prompts: ClassVar[bool] = False
    """`agenerate`/`abatch` send every prompt at once (a server decodes them in parallel
    slots) instead of one after another."""

    def _generation(self, call: TextCall, cancel: Event | None = None) -> Iterator[Item]:
        raise NotImplementedError

    def _ageneration(self, call: TextCall) -> AsyncIterator[Item]:
        return iterate_in_thread(lambda cancel: self._generation(call, cancel))

    def _streams_on_invoke(self) -> bool:
        """Whether `invoke` reads the stream (so callbacks see every token)."""
        return bool(getattr(self, "streaming", True))

    def _complete(self, call: TextCall) -> Generation:
        return join_chunks(map(_chunk, self._generation(call)))

    async def _acomplete(self, call: TextCall) -> Generation:
        return join_chunks([_chunk(i) async for i in self._ageneration(call)])

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        items = self._generation(TextCall(prompt, stop, kwargs))
        try:
            for item in items:
                chunk = _chunk(item)
                if run_manager and isinstance(item, str):
                    run_manager.on_llm_new_token(item, chunk=chunk)
                yield chunk
        finally:  # a consumer that stops early stops decoding now, not at garbage collection
            if isinstance(items, Generator):
                items.close()

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        items = self._ageneration(TextCall(prompt, stop, kwargs))
        try:
            async for item in items:
                chunk = _chunk(item)
                if run_manager and isinstance(item, str):
                    await run_manager.on_llm_new_token(item, chunk=chunk)
                yield chunk
        finally:
            if isinstance(items, AsyncGenerator):
                await items.aclose()

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations: list[list[Generation]] = []
        for prompt in prompts:
            if self._streams_on_invoke():
                generations.append([join_chunks(self._stream(prompt, stop, run_manager, **kwargs))])
            else:
                generations.append([self._complete(TextCall(prompt, stop, dict(kwargs)))])
        return LLMResult(generations=generations, llm_output=llm_output(generations))

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Generate for every prompt; a concurrent face sends them all at once.

        LangChain hands one run manager for all the prompts of an `agenerate` call, so when
        several prompts run at once their tokens are not sent to it one by one (they would
        interleave); `abatch` gives every prompt a run of its own, streamed.
        """
        concurrent = self._concurrent_prompts and len(prompts) > 1
        token_sink = None if concurrent else run_manager

        async def one(prompt: str) -> list[Generation]:
            if not self._streams_on_invoke():
                return [await self._acomplete(TextCall(prompt, stop, dict(kwargs)))]
            chunks = [c async for c in self._astream(prompt, stop, token_sink, **kwargs)]
            return [join_chunks(chunks)]

        if not concurrent:
            generations = [await one(prompt) for prompt in prompts]
            return LLMResult(generations=generations, llm_output=llm_output(generations))
        tasks = [asyncio.ensure_future(one(prompt)) for prompt in prompts]
        try:
            generations = list(await asyncio.gather(*tasks))
        except BaseException:  # the first error is raised as it is; the other requests stop
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return LLMResult(generations=generations, llm_output=llm_output(generations))


__all__ = ["LocalLLM", "TextCall", "atext_thoughts", "text_thoughts"]

"""Scripted models that stream like the localkit faces: tokens, then a final chunk with figures."""

from __future__ import annotations

import asyncio
import functools
import operator
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import (
    ChatGenerationChunk,
    ChatResult,
    Generation,
    GenerationChunk,
    LLMResult,
)
from pydantic import BaseModel

from langchain_localkit._core.timings import Timings


class ScriptFailed(RuntimeError):
    """The error a scripted model raises mid-stream."""


def figures(tokens: list[str], prompt_tokens: int = 4) -> Timings:
    n = len([t for t in tokens if t])
    return Timings(
        prompt_tokens=prompt_tokens,
        prompt_ms=8.0,
        eval_tokens=n,
        eval_ms=10.0 * n,
        ttft_ms=9.0,
        total_ms=8.0 + 10.0 * n,
        load_ms=100.0,
        source="llama.cpp",
    )


class _Script(BaseModel):
    """Streams `tokens` (failing before token `fail_after`), then `_final()`."""

    tokens: list[str]
    with_figures: bool = True
    fail_after: int | None = None
    delay: float = 0.0

    notify_empty_tokens: ClassVar[bool] = True
    """Whether `on_llm_new_token` is called for empty tokens too."""

    def _chunk(self, token: str) -> Any:
        raise NotImplementedError

    def _final(self) -> Any:
        raise NotImplementedError

    def _steps(self) -> Iterator[tuple[str, Any, bool]]:
        """Each token, its chunk, and whether to call `on_llm_new_token` for it."""
        for i, token in enumerate(self.tokens):
            if self.fail_after == i:
                raise ScriptFailed("boom")
            yield token, self._chunk(token), bool(token) or self.notify_empty_tokens

    def _stream(
        self,
        _input: Any,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        for token, chunk, notify in self._steps():
            if self.delay:
                time.sleep(self.delay)
            if run_manager and notify:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk
        yield self._final()

    async def _astream(
        self,
        _input: Any,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        for token, chunk, notify in self._steps():
            await asyncio.sleep(self.delay)
            if run_manager and notify:
                await run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk
        yield self._final()


def _joined(chunks: list[GenerationChunk]) -> list[Generation]:
    total = functools.reduce(operator.add, chunks)
    return [Generation(text=total.text, generation_info=total.generation_info)]


class ScriptedLLM(_Script, BaseLLM):
    """Streams `tokens` (calling `on_llm_new_token` itself, as `LlamaCpp` does)."""

    tokens: list[str] = ["The", " moon", " is", " far"]
    notify_empty_tokens: ClassVar[bool] = False

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _chunk(self, token: str) -> GenerationChunk:
        return GenerationChunk(text=token)

    def _final(self) -> GenerationChunk:
        n = len([t for t in self.tokens if t])
        info: dict[str, Any] = {
            "usage": {"input_tokens": 4, "output_tokens": n, "total_tokens": 4 + n},
            "model_name": "scripted.gguf",
        }
        if self.with_figures:
            info["timings"] = figures(self.tokens).to_dict()
        return GenerationChunk(text="", generation_info=info)

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        return LLMResult(
            generations=[_joined([*self._stream(p, stop, run_manager)]) for p in prompts]
        )

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        gens = [_joined([c async for c in self._astream(p, stop, run_manager)]) for p in prompts]
        return LLMResult(generations=gens)


class ScriptedChat(_Script, BaseChatModel):
    """Streams `tokens` as message chunks, then a last chunk with usage and timings."""

    tokens: list[str] = ["Neil", " Armstrong", "."]

    @property
    def _llm_type(self) -> str:
        return "scripted-chat"

    def _chunk(self, token: str) -> ChatGenerationChunk:
        return ChatGenerationChunk(message=AIMessageChunk(content=token))

    def _final(self) -> ChatGenerationChunk:
        n = len([t for t in self.tokens if t])
        metadata: dict[str, Any] = {"model_name": "scripted-chat.gguf"}
        if self.with_figures:
            metadata["timings"] = figures(self.tokens, prompt_tokens=6).to_dict()
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=UsageMetadata(input_tokens=6, output_tokens=n, total_tokens=6 + n),
                response_metadata=metadata,
                chunk_position="last",
            )
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))

"""The `reasoning` switch on a live Ollama with a thinking model (`OLLAMA_REASONING_TEST_MODEL`).

Skipped without a live Ollama (`OLLAMA_HOST`) or without the tag of a thinking model that it
has pulled (`qwen3:0.6b`, `deepseek-r1:1.5b`, `gpt-oss:20b`, ...).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langchain_localkit import ChatOllama, OllamaLLM, Timings
from tests.integration_tests.ollama import _live

pytestmark = pytest.mark.skipif(
    _live.reasoning_skip_reason() is not None, reason=str(_live.reasoning_skip_reason())
)

QUESTION = "What is 17 + 25? Answer with the number only."
MODEL = _live.REASONING_MODEL or ""
ON: Any = "low" if MODEL.startswith("gpt-oss") else True  # gpt-oss takes levels only


def chat(**kwargs: Any) -> ChatOllama:
    return ChatOllama(model=MODEL, base_url=_live.base_url(), num_predict=1024, **kwargs)


def test_stream_keeps_thoughts_apart_and_counts_them() -> None:
    chunks = list(chat().stream(QUESTION, reasoning=ON))
    assert any(c.additional_kwargs.get("reasoning_content") for c in chunks)
    for chunk in chunks:
        if chunk.additional_kwargs.get("reasoning_content"):
            assert chunk.text == ""
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert "<think>" not in total.text
    usage = total.usage_metadata
    assert usage is not None
    reasoning = usage.get("output_token_details", {}).get("reasoning", 0)
    assert 0 < reasoning <= usage["output_tokens"]
    assert (
        Timings.from_dict(total.response_metadata["timings"]).eval_tokens
        == (usage["output_tokens"])
    )


def test_async_invoke_and_false() -> None:
    async def go() -> tuple[Any, Any]:
        on = await chat().ainvoke(QUESTION, reasoning=ON)
        off = await chat(reasoning=False).ainvoke(QUESTION)
        return on, off

    on, off = asyncio.run(go())
    assert on.additional_kwargs.get("reasoning_content")
    assert "reasoning_content" not in off.additional_kwargs
    assert "<think>" not in str(off.content)


def test_v1_blocks_and_a_second_turn() -> None:
    model = chat(reasoning=ON, output_version="v1")
    first = model.invoke(QUESTION)
    assert [b["type"] for b in first.content_blocks][:1] == ["reasoning"]
    second = model.invoke([HumanMessage(QUESTION), first, HumanMessage("And minus 2?")])
    assert isinstance(second.content, list) and second.usage_metadata is not None


def test_llm_keeps_thoughts_out_of_the_text() -> None:
    llm = OllamaLLM(model=MODEL, base_url=_live.base_url(), num_predict=1024, reasoning=ON)
    generation = llm.generate([QUESTION]).generations[0][0]
    info = generation.generation_info or {}
    assert info.get("reasoning_content") and "<think>" not in generation.text
    assert info["usage"]["output_token_details"]["reasoning"] > 0

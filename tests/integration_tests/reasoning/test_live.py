"""A real thinking model (optional): `LOCALKIT_REASONING_TEST_MODEL=/path/to/thinking.gguf`.

Any GGUF of a model that thinks in `<think>…</think>` (Qwen3, a DeepSeek-R1 distill,
SmolLM3, ...). Skipped without it: no thinking model is small enough to ship with the tests.
The tiny thinking model covers the same paths on every run (test_inprocess.py,
test_servers.py); these check that a real model's template and tokens behave the same.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests.llamafile._servers import binary

QUESTION = "What is 2 + 3? Answer with the number only."


class Sum(BaseModel):
    """The result of an addition."""

    result: int = Field(description="the sum")


def _model() -> Path:
    path = os.environ.get("LOCALKIT_REASONING_TEST_MODEL")
    if not path:
        pytest.skip("set LOCALKIT_REASONING_TEST_MODEL to a thinking GGUF (Qwen3, R1 distill)")
    return Path(path)


@pytest.fixture(scope="module")
def live_server() -> Iterator[LlamaServer]:
    server = LlamaServer(_model(), binary=binary(), n_ctx=4096, extra_args=["--jinja"]).start()
    yield server
    server.stop()


def _no_tags(text: str) -> bool:
    return "<think>" not in text and "</think>" not in text


def test_in_process_structured_output_after_a_thought() -> None:
    pytest.importorskip("llama_cpp")
    from langchain_localkit import ChatLlamaCpp

    chat = ChatLlamaCpp(
        model_path=str(_model()), temperature=0, max_tokens=2048, n_ctx=4096, reasoning=True
    )
    out = chat.with_structured_output(Sum, include_raw=True).invoke(QUESTION)
    assert out["parsed"] == Sum(result=5)
    assert str(out["raw"].additional_kwargs.get("reasoning_content", "")).strip()


@pytest.mark.parametrize("endpoint", ["openai", "chat", "completion"])
def test_server_keeps_thoughts_apart_and_switches_them_off(
    live_server: LlamaServer, endpoint: str
) -> None:
    from langchain_localkit import ChatLlamafile, ChatOpenAICompatible

    common = {"temperature": 0, "max_tokens": 2048}
    if endpoint == "openai":
        chat = ChatOpenAICompatible(base_url=live_server.base_url, **common)
    else:
        chat = ChatLlamafile(base_url=live_server.base_url, endpoint=endpoint, **common)
    msg = chat.invoke(QUESTION, reasoning=True)
    assert str(msg.additional_kwargs.get("reasoning_content", "")).strip()
    assert "5" in str(msg.content) and _no_tags(str(msg.content))
    quick = chat.invoke(QUESTION, reasoning=False)
    assert not quick.additional_kwargs.get("reasoning_content")
    assert "5" in str(quick.content) and _no_tags(str(quick.content))

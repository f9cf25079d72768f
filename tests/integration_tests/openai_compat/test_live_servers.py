"""ChatOpenAICompatible on live servers we cannot install here (skipped without one).

- Ollama's `/v1`, when a live Ollama answers (`OLLAMA_HOST`, `OLLAMA_TEST_MODEL`; see
  `tests/integration_tests/ollama/_live.py`).
- Any OpenAI-compatible server at `LOCALKIT_OPENAI_TEST_URL` (LM Studio, vLLM, LocalAI, ...),
  optionally with `LOCALKIT_OPENAI_TEST_MODEL` and `LOCALKIT_OPENAI_TEST_SERVER` (a preset
  name, checked against what detection finds).

The run allows loopback only: pass `--allow-hosts` for a server elsewhere.
"""

from __future__ import annotations

import os

import httpx
import pytest
from pydantic import BaseModel

from langchain_localkit import ChatOpenAICompatible, Timings
from tests.integration_tests.ollama import _live


class Verdict(BaseModel):
    """A verdict on a statement."""

    statement: str
    true: bool


def _generic_skip() -> str | None:
    url = os.environ.get("LOCALKIT_OPENAI_TEST_URL")
    if not url:
        return "set LOCALKIT_OPENAI_TEST_URL to an OpenAI-compatible server to run these"
    try:
        httpx.get(url.rstrip("/").removesuffix("/v1") + "/v1/models", timeout=2)
    except (httpx.HTTPError, OSError, RuntimeError) as e:
        return f"nothing answers at {url} ({type(e).__name__})"
    return None


def _servers() -> list[object]:
    ollama = _live.skip_reason()
    generic = _generic_skip()
    return [
        pytest.param(
            ("ollama", _live.base_url() + "/v1", _live.MODEL),
            id="ollama",
            marks=pytest.mark.skipif(ollama is not None, reason=str(ollama)),
        ),
        pytest.param(
            (
                os.environ.get("LOCALKIT_OPENAI_TEST_SERVER"),
                os.environ.get("LOCALKIT_OPENAI_TEST_URL", ""),
                os.environ.get("LOCALKIT_OPENAI_TEST_MODEL"),
            ),
            id="generic",
            marks=pytest.mark.skipif(generic is not None, reason=str(generic)),
        ),
    ]


@pytest.fixture(params=_servers())
def chat(request: pytest.FixtureRequest) -> ChatOpenAICompatible:
    expected, url, model = request.param
    model_ = ChatOpenAICompatible(base_url=url, model=model, temperature=0, max_tokens=64)
    if expected:
        assert model_.server_facts().preset.name == expected
    return model_


def test_reply_usage_and_timings(chat: ChatOpenAICompatible) -> None:
    msg = chat.invoke("Who was the first man on the moon? One short sentence.")
    assert isinstance(msg.content, str) and msg.content.strip()
    assert "<think>" not in msg.content
    assert msg.usage_metadata is not None and msg.usage_metadata["output_tokens"] > 0
    timings = Timings.from_dict(msg.response_metadata["timings"])
    assert timings.eval_tokens == msg.usage_metadata["output_tokens"]
    assert timings.ttft_ms is not None and timings.ttft_ms > 0


def test_stream_joins_to_text(chat: ChatOpenAICompatible) -> None:
    chunks = list(chat.stream("Count from one to five in words."))
    assert "".join(str(c.content) for c in chunks).strip()
    assert chunks[-1].usage_metadata is not None


def test_structured_output(chat: ChatOpenAICompatible) -> None:
    structured = chat.with_structured_output(Verdict)
    verdict = structured.invoke("Is this statement true: 'Water boils at 100 C at sea level.'")
    assert isinstance(verdict, Verdict)


async def test_async_reply(chat: ChatOpenAICompatible) -> None:
    msg = await chat.ainvoke("Say hello.")
    assert msg.usage_metadata is not None

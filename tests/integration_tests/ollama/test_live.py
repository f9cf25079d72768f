"""Our additions on a live Ollama: timings, raw mode, errors (skipped without one)."""

from __future__ import annotations

import pytest

from langchain_localkit import ChatOllama, ModelNotPulledError, OllamaLLM, Timings
from langchain_localkit.callbacks import TimingCallbackHandler
from tests.integration_tests.ollama import _live

pytestmark = pytest.mark.skipif(_live.skip_reason() is not None, reason=str(_live.skip_reason()))


def test_chat_timings_match_usage() -> None:
    chat = ChatOllama(model=_live.MODEL or "", base_url=_live.base_url(), num_predict=16)
    msg = chat.invoke("Who was the first man on the moon?")
    t = Timings.from_dict(msg.response_metadata["timings"])
    assert msg.usage_metadata is not None
    assert t.source == "ollama" and t.eval_tokens == msg.usage_metadata["output_tokens"]
    assert t.ttft_ms is not None and t.ttft_ms > 0


def test_llm_stream_and_timing_handler() -> None:
    timing = TimingCallbackHandler()
    llm = OllamaLLM(model=_live.MODEL or "", base_url=_live.base_url(), num_predict=16)
    text = "".join(llm.stream("The first man on the moon was", config={"callbacks": [timing]}))
    assert text and timing.last is not None and timing.last.timings.eval_tokens > 0


def test_raw_mode_answers() -> None:
    llm = OllamaLLM(model=_live.MODEL or "", base_url=_live.base_url(), raw=True, num_predict=16)
    assert llm.invoke("Say hello.")


def test_missing_model_says_how_to_pull() -> None:
    with pytest.raises(ModelNotPulledError, match="ollama pull"):
        OllamaLLM(model="localkit-no-such-model:1b", base_url=_live.base_url()).invoke("x")


def test_chat_stream_and_astream_end_with_timings() -> None:
    import asyncio

    chat = ChatOllama(model=_live.MODEL or "", base_url=_live.base_url(), num_predict=16)
    chunks = list(chat.stream("Count to five."))
    final = [c for c in chunks if "timings" in c.response_metadata]
    assert len(final) == 1 and final[0].usage_metadata is not None

    async def go() -> list[str]:
        return [str(c.content) async for c in chat.astream("Count to five.")]

    assert "".join(asyncio.run(go()))


def test_embeddings_answer() -> None:
    if not _live.EMBED_MODEL:
        pytest.skip("OLLAMA_TEST_EMBED_MODEL is not set")
    from langchain_localkit import OllamaEmbeddings

    vectors = OllamaEmbeddings(model=_live.EMBED_MODEL, base_url=_live.base_url()).embed_documents(
        ["the moon", "bread"]
    )
    assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 0

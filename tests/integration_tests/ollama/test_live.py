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

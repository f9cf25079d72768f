"""GPT4All on the real gpt4all 2.8.2 bindings, on the tiny generated llama GGUF."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from langchain_localkit import ChatGPT4All, GPT4All, Timings
from tests.integration_tests.gpt4all._faces import greedy

pytest.importorskip("gpt4all")

_llm = functools.partial(greedy, GPT4All)


def test_invoke_is_deterministic_and_reports_usage_and_timings(tiny_gguf_path: Path) -> None:
    llm = _llm(tiny_gguf_path)
    result = llm.generate(["The first man on the moon was"])
    gen = result.generations[0][0]
    assert gen.text.strip() and gen.text == llm.invoke("The first man on the moon was")
    info = gen.generation_info or {}
    assert info["finish_reason"] == "length"
    usage = info["usage"]
    assert usage["output_tokens"] == 8 and usage["input_tokens"] > 1
    t = Timings.from_dict(info["timings"])
    assert t.source == "gpt4all (measured)"
    assert (t.prompt_tokens, t.eval_tokens) == (usage["input_tokens"], usage["output_tokens"])
    assert t.ttft_ms is not None and t.ttft_ms > 0 and t.eval_ms > 0
    assert result.llm_output == {"token_usage": usage, "model_name": tiny_gguf_path.name}


def test_stream_joins_to_invoke_and_streams_to_callbacks(tiny_gguf_path: Path) -> None:
    tokens: list[str] = []

    class Collect(BaseCallbackHandler):
        def on_llm_new_token(self, token: str, **kwargs: object) -> None:
            tokens.append(token)

    llm = _llm(tiny_gguf_path, streaming=True, callbacks=[Collect()])
    text = llm.invoke("Hello")
    assert "".join(tokens) == text and len(tokens) == 8
    assert "".join(_llm(tiny_gguf_path).stream("Hello")) == text


def test_stop_strings_halt_decoding(tiny_gguf_path: Path) -> None:
    llm = _llm(tiny_gguf_path, max_tokens=12)
    full = llm.invoke("The first man")
    words = full.split(" ")
    stop = " " + words[3]
    out = llm.generate(["The first man"], stop=[stop]).generations[0][0]
    assert out.text == full[: full.index(stop)]
    info = out.generation_info or {}
    assert info["finish_reason"] == "stop" and info["stop_reason"] == stop
    assert info["usage"]["output_tokens"] == 3  # decoding stopped at the stop string


def test_async_and_batch(tiny_gguf_path: Path) -> None:
    llm = _llm(tiny_gguf_path)
    expected = llm.invoke("The first man")

    async def go() -> tuple[str, list[str], list[str]]:
        one = await llm.ainvoke("The first man")
        parts = [p async for p in llm.astream("The first man")]
        many = await llm.abatch(["The first man", "The first man"])
        return one, parts, many

    one, parts, many = asyncio.run(go())
    assert one == "".join(parts) == expected and many == [expected, expected]
    assert llm.batch(["The first man"] * 2) == [expected, expected]


def test_breaking_out_of_a_stream_stops_decoding_and_frees_the_model(
    tiny_gguf_path: Path,
) -> None:
    llm = _llm(tiny_gguf_path, max_tokens=200)
    stream = llm.stream("The first man")
    next(stream)
    stream.close()
    assert not llm.engine.load()[0].busy
    assert llm.invoke("The first man", max_tokens=2)


def test_wrappers_on_one_file_share_one_loaded_model(tiny_gguf_path: Path) -> None:
    a, b = _llm(tiny_gguf_path), ChatGPT4All(model=str(tiny_gguf_path))
    assert a.engine.load()[0] is b.engine.load()[0]


def test_context_overflow_is_a_clear_error(tiny_gguf_path: Path) -> None:
    from langchain_localkit import ContextOverflowError

    with pytest.raises(ContextOverflowError, match=r"is \d+ tokens but the context window is 64"):
        _llm(tiny_gguf_path, n_ctx=64).invoke("word " * 200)


def test_get_num_tokens_counts_as_the_bindings_do(tiny_gguf_path: Path) -> None:
    llm = _llm(tiny_gguf_path)
    info = llm.generate(["The first man"]).generations[0][0].generation_info or {}
    assert llm.get_num_tokens("The first man") == info["usage"]["input_tokens"] - 1  # BOS


@pytest.mark.disable_socket
def test_nothing_opens_a_socket(tiny_gguf_path: Path) -> None:
    from langchain_localkit.engines.gpt4all import clear_model_cache

    clear_model_cache()
    llm = GPT4All(model=str(tiny_gguf_path), max_tokens=4)
    chat = ChatGPT4All(model=str(tiny_gguf_path), max_tokens=4)
    assert llm.invoke("Hello") and chat.invoke("Hello").content

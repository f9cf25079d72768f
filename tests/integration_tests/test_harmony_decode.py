"""In-process decoding of special tokens (`SamplingParams.render_special`) and gpt-oss's Harmony
channels split into thoughts and answer, on the tiny GGUF.

A logits processor forces the exact token sequence under test, so the model "writes" control
tokens it would never choose. The tiny model has two control tokens that are not end of
generation for this test to use (`<|im_start|>`), and one that is (`<|im_end|>`, and `</s>`).
The Harmony variant is the tiny model with gpt-oss's markers added to its control tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from langchain_localkit._core.generation import GenerationInfo, ReasoningDelta, TextDelta
from langchain_localkit._core.reasoning import HARMONY, ThoughtSplitter, split_items
from langchain_localkit.engines.llamacpp import LlamaCppEngine, LlamaLoadOptions, SamplingParams
from langchain_localkit.prompts import get_family, render_chat
from langchain_localkit.testing import tiny

_TEXT_DELIMITERS = ("<|startoftext|>", "<|endoftext|>")
HARMONY_TOKENS = tuple(
    t for t in get_family("gpt-oss").control_strings if t not in _TEXT_DELIMITERS
)
"""gpt-oss's Harmony markers (the family's control strings but the text delimiters)."""


class _Force:
    """A logits processor that makes the model write `sequence`, then end of sequence."""

    def __init__(self, sequence: Sequence[int], n_prompt: int, eos: int) -> None:
        self.sequence, self.n_prompt, self.eos = list(sequence), n_prompt, eos

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        step = len(input_ids) - self.n_prompt
        forced = np.full_like(scores, -np.inf)
        forced[self.sequence[step] if step < len(self.sequence) else self.eos] = 0.0
        return forced


def _run(
    engine: LlamaCppEngine, text: str, *, render_special: bool, stop: tuple[str, ...] = ()
) -> tuple[list[str], GenerationInfo]:
    """Force the model to write `text` (special tokens parsed) and decode it."""
    import llama_cpp

    llm = engine.llama
    prompt = engine.tokenize("the moon")
    sequence = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    force = _Force(sequence, len(prompt), llm.token_eos())
    params = SamplingParams(
        max_tokens=64,
        temperature=0.0,
        stop=stop,
        render_special=render_special,
        logits_processor=llama_cpp.LogitsProcessorList([force]),
    )
    items = list(engine.stream(prompt, params))
    info = items.pop()
    assert isinstance(info, GenerationInfo)
    assert all(isinstance(item, str) for item in items)
    return items, info  # type: ignore[return-value]


@pytest.fixture(scope="module")
def tiny_engine(tiny_gguf_path: Path) -> LlamaCppEngine:
    return LlamaCppEngine(LlamaLoadOptions(str(tiny_gguf_path), n_ctx=256))


@pytest.fixture(scope="module")
def harmony_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppEngine]:
    """The tiny model with gpt-oss's Harmony markers among its control tokens."""
    path = tiny.make_tiny_gguf(
        tmp_path_factory.mktemp("harmony") / "tiny-gpt-oss.gguf", control_tokens=HARMONY_TOKENS
    )
    engine = LlamaCppEngine(LlamaLoadOptions(str(path), n_ctx=256))
    yield engine
    engine.unload()


def test_render_special_is_off_by_default() -> None:
    assert SamplingParams().render_special is False
    assert SamplingParams.resolve(object(), {}, render_special=True).render_special is True


def test_control_tokens_are_written_only_when_asked(tiny_engine: LlamaCppEngine) -> None:
    plain, info = _run(tiny_engine, "moon<|im_start|>sun", render_special=False)
    assert "".join(plain) == " moon sun"
    assert (info.finish_reason, info.stop_reason) == ("stop", "eos")
    special, info = _run(tiny_engine, "moon<|im_start|>sun", render_special=True)
    assert "<|im_start|>" in special  # one delta for the control token
    assert "".join(special) == " moon<|im_start|> sun"
    assert info.completion_tokens == 3


@pytest.mark.parametrize("render_special", [False, True])
def test_a_control_token_stop_still_stops_and_is_not_written(
    tiny_engine: LlamaCppEngine, render_special: bool
) -> None:
    out, info = _run(
        tiny_engine,
        "moon<|im_start|>sun",
        render_special=render_special,
        stop=("<|im_start|>",),
    )
    assert "".join(out) == " moon"
    assert (info.finish_reason, info.stop_reason) == ("stop", "<|im_start|>")
    assert info.completion_tokens == 1


def test_end_of_generation_tokens_are_never_written(tiny_engine: LlamaCppEngine) -> None:
    out, info = _run(tiny_engine, "moon<|im_end|>sun", render_special=True)
    assert "".join(out) == " moon"
    assert (info.finish_reason, info.stop_reason) == ("stop", "eos")


def test_a_text_stop_spanning_a_control_token(tiny_engine: LlamaCppEngine) -> None:
    out, info = _run(tiny_engine, "moon<|im_start|>sun", render_special=True, stop=("> sun",))
    assert "".join(out) == " moon<|im_start|"
    assert info.stop_reason == "> sun"


HARMONY_REPLY = (
    "<|channel|>analysis<|message|> moon sky<|end|>"
    "<|start|>assistant<|channel|>final<|message|> sun<|return|> never"
)


@pytest.mark.parametrize("render_special", [False, True])
def test_harmony_reply_splits_into_thoughts_and_answer(
    harmony_engine: LlamaCppEngine, render_special: bool
) -> None:
    # llama.cpp writes gpt-oss's markers as text even without render_special (it marks
    # <|channel|>, <|message|>, <|start|>, <|end|>, <|constrain|> as user-defined tokens);
    # render_special keeps that true for any build. <|return|> ends generation, unwritten.
    stop = get_family("gpt-oss").stop
    out, info = _run(harmony_engine, HARMONY_REPLY, render_special=render_special, stop=stop)
    text = "".join(out)
    assert "<|channel|>" in text and "<|end|>" in text
    assert "<|return|>" not in text and "never" not in text
    assert info.finish_reason == "stop"
    events = list(split_items(iter([*out, info]), ThoughtSplitter(HARMONY)))
    thought = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert (thought, answer) == ("moon sky", "sun")
    assert info.reasoning_tokens > 0


def test_the_gpt_oss_family_prompt_decodes_on_the_harmony_variant(
    harmony_engine: LlamaCppEngine,
) -> None:
    rendered = render_chat([("human", "the moon")], "gpt-oss")
    tokens = harmony_engine.tokenize(rendered.prompt)
    markers = harmony_engine.tokenize("<|start|><|message|><|end|>", add_bos=False)
    assert len(markers) == 3  # each marker is one token
    assert tokens.count(markers[0]) == 3  # system, user, the assistant's turn
    params = SamplingParams(max_tokens=4, temperature=0.0, stop=rendered.stop, render_special=True)
    items = list(harmony_engine.stream(tokens, params))
    assert isinstance(items[-1], GenerationInfo)
    assert items[-1].prompt_tokens == len(tokens)


@pytest.mark.parametrize("reasoning", [True, "high", False])
def test_chat_llamacpp_keeps_harmony_thoughts_apart(
    harmony_engine: LlamaCppEngine, reasoning: Any
) -> None:
    """The face renders the gpt-oss prompt, turns its markers into text, and splits them."""
    import llama_cpp

    from langchain_localkit import ChatLlamaCpp

    chat = ChatLlamaCpp(
        model_path=harmony_engine.options.model_path,
        n_ctx=256,
        n_batch=256,
        chat_format="gpt-oss",
        reasoning=reasoning,
        temperature=0,
        max_tokens=32,
    )
    prompt = chat.render([("human", "the moon")], reasoning=reasoning).prompt
    if reasoning == "high":
        assert "Reasoning: high" in prompt
    llm = harmony_engine.llama
    n_prompt = len(harmony_engine.tokenize(prompt))
    sequence = llm.tokenize(HARMONY_REPLY.encode("utf-8"), add_bos=False, special=True)
    force = _Force(sequence, n_prompt, llm.token_eos())
    msg = chat.invoke("the moon", logits_processor=llama_cpp.LogitsProcessorList([force]))
    assert msg.content == "sun"
    if reasoning is False:
        assert "reasoning_content" not in msg.additional_kwargs
    else:
        assert msg.additional_kwargs["reasoning_content"] == "moon sky"
        assert msg.usage_metadata["output_token_details"]["reasoning"] > 0

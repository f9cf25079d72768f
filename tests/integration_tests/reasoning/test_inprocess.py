"""The `reasoning` switch on the in-process faces: llama.cpp and the gpt4all bindings, for real.

llama.cpp runs the thinking tiny model (`tests.models.thinking_path`) under `think_grammar`, so
it writes `<think> words </think> words` as a thinking model does. The gpt4all bindings have no
grammar: their tests run a tiny model whose only words are a few nouns and the thought tags
(`_worded_path`), with a seed whose greedy reply to "the moon" has the thinking shape (pinned
below, checked by `test_worded_models_have_the_thinking_shape`).
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from pydantic import BaseModel, Field

from langchain_localkit import ChatGPT4All, ChatLlamaCpp, GPT4All, LlamaCpp
from langchain_localkit.testing.thinking import TEMPLATES, think_grammar
from tests.models import thinking_path

STYLES = ("qwen3", "r1")
RUNTIMES = ("llamacpp", "gpt4all")
QUESTION = "the moon"
TAGS = ("<think>", "</think>")

# The gpt4all models: few words, the thought tags among them, and a seed whose greedy reply to
# QUESTION is `<think> words </think> words` ("qwen3") or `words </think> words` ("r1", where
# the prompt opens the thought).
_WORDS = {
    "qwen3": ("<think>", "</think>", "moon", "sun", "sky", "sea", "star", "river"),
    "r1": ("</think>", "moon", "sun", "sky", "sea", "star", "river"),
}
_SEEDS = {"qwen3": 37, "r1": 1}
_G4A_TOKENS = 12


@functools.cache
def _worded_path(style: str) -> Path:
    import langchain_localkit.testing.tiny as tiny

    folder = Path(tempfile.mkdtemp(prefix="localkit-thinking-words-"))
    return tiny.make_tiny_gguf(
        folder / f"tiny-thinking-words-{style}.gguf",
        seed=_SEEDS[style],
        chat_template=TEMPLATES[style],
        name=f"tiny-thinking-words-{style}",
        words=_WORDS[style],
    )


def _needs(runtime: str) -> None:
    pytest.importorskip("gpt4all" if runtime == "gpt4all" else "llama_cpp")


def _chat(runtime: str, style: str, **fields: Any) -> tuple[BaseChatModel, dict[str, Any]]:
    """The chat face on the thinking model, and the call options that make it think."""
    _needs(runtime)
    if runtime == "llamacpp":
        chat = ChatLlamaCpp(
            model_path=str(thinking_path(style)), temperature=0, max_tokens=48, n_ctx=1024, **fields
        )
        return chat, {"grammar": think_grammar(opened=style == "r1")}
    gchat = ChatGPT4All(
        model=str(_worded_path(style)), temp=0, top_k=1, max_tokens=_G4A_TOKENS, **fields
    )
    return gchat, {}


def _llm(runtime: str, style: str, **fields: Any) -> tuple[BaseLLM, dict[str, Any]]:
    _needs(runtime)
    if runtime == "llamacpp":
        llm = LlamaCpp(
            model_path=str(thinking_path(style)), temperature=0, max_tokens=48, n_ctx=1024, **fields
        )
        return llm, {"grammar": think_grammar(opened=style == "r1")}
    gllm = GPT4All(
        model=str(_worded_path(style)), temp=0, top_k=1, max_tokens=_G4A_TOKENS, **fields
    )
    return gllm, {}


def _text_prompt(style: str) -> str:
    """QUESTION as the thinking template renders it (what the LLM faces are given)."""
    return f"<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n" + (
        "<think>\n" if style == "r1" else ""
    )


def _spy_prompts(model: Any) -> list[str]:
    """The prompts the model's engine is asked to continue, recorded (the engine still runs)."""
    engine = model.engine
    prompts: list[str] = []
    real = engine.stream

    def stream(prompt: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        prompts.append(prompt)
        return real(prompt, *args, **kwargs)

    engine.stream = stream
    return prompts


def _no_tags(text: str) -> bool:
    return not any(tag in text for tag in TAGS)


def _check_thoughts_apart(msg: BaseMessage) -> None:
    thought = msg.additional_kwargs.get("reasoning_content")
    assert isinstance(thought, str) and thought.strip() and _no_tags(thought), msg
    assert isinstance(msg.content, str) and msg.content.strip() and _no_tags(msg.content), msg
    assert isinstance(msg, AIMessage) and msg.usage_metadata is not None
    reasoning = msg.usage_metadata.get("output_token_details", {}).get("reasoning", 0)
    assert 0 < reasoning <= msg.usage_metadata["output_tokens"]
    assert msg.response_metadata["timings"]["eval_tokens"] == msg.usage_metadata["output_tokens"]


def _check_chunks(chunks: list[AIMessageChunk], invoked: BaseMessage) -> None:
    for chunk in chunks:
        assert isinstance(chunk.content, str) and _no_tags(chunk.content)
        if chunk.additional_kwargs.get("reasoning_content"):
            assert chunk.content == ""
    joined = chunks[0]
    for chunk in chunks[1:]:
        joined = joined + chunk
    assert joined.content == invoked.content
    assert (
        joined.additional_kwargs["reasoning_content"]
        == invoked.additional_kwargs["reasoning_content"]
    )
    _check_thoughts_apart(AIMessage(**joined.model_dump(exclude={"type", "chunk_position"})))


def test_worded_models_have_the_thinking_shape() -> None:
    pytest.importorskip("gpt4all")
    for style in STYLES:
        chat, _ = _chat("gpt4all", style)
        reply = str(chat.invoke(QUESTION).content).split()
        assert reply.count("</think>") == 1 and reply[-1] != "</think>", reply
        if style == "qwen3":
            assert reply[0] == "<think>" and reply.count("<think>") == 1, reply


# ---- reasoning=True: thoughts apart, on every path ------------------------------------------


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_chat_keeps_thoughts_apart_sync(runtime: str, style: str) -> None:
    chat, opts = _chat(runtime, style, reasoning=True)
    msg = chat.invoke(QUESTION, **opts)
    _check_thoughts_apart(msg)
    _check_chunks(list(chat.stream(QUESTION, **opts)), msg)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_chat_keeps_thoughts_apart_async(runtime: str, style: str) -> None:
    chat, opts = _chat(runtime, style, reasoning=True)
    msg = await chat.ainvoke(QUESTION, **opts)
    _check_thoughts_apart(msg)
    _check_chunks([c async for c in chat.astream(QUESTION, **opts)], msg)
    assert msg.content == chat.invoke(QUESTION, **opts).content


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_llm_keeps_thoughts_apart(runtime: str, style: str) -> None:
    llm, opts = _llm(runtime, style, reasoning=True)
    prompt = _text_prompt(style)
    gen = llm.generate([prompt], **opts).generations[0][0]
    info = gen.generation_info or {}
    assert gen.text.strip() and _no_tags(gen.text)
    assert info["reasoning_content"].strip() and _no_tags(info["reasoning_content"])
    usage = info["usage"]
    assert 0 < usage["output_token_details"]["reasoning"] <= usage["output_tokens"]
    assert info["timings"]["eval_tokens"] == usage["output_tokens"]
    assert llm.invoke(prompt, **opts) == gen.text
    assert "".join(llm.stream(prompt, **opts)) == gen.text
    assert "".join([c async for c in llm.astream(prompt, **opts)]) == gen.text
    assert await llm.ainvoke(prompt, **opts) == gen.text


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_effort_levels_keep_thoughts_apart(runtime: str) -> None:
    chat, opts = _chat(runtime, "qwen3", reasoning="high")
    _check_thoughts_apart(chat.invoke(QUESTION, **opts))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_v1_output_has_reasoning_then_text_blocks(runtime: str) -> None:
    chat, opts = _chat(runtime, "qwen3", reasoning=True, output_version="v1")
    msg = chat.invoke(QUESTION, **opts)
    assert isinstance(msg.content, list)
    kinds = [block["type"] for block in msg.content if isinstance(block, dict)]
    assert kinds == ["reasoning", "text"], msg.content
    reasoning, text = msg.content
    assert isinstance(reasoning, dict) and isinstance(text, dict)
    assert reasoning["reasoning"].strip() and _no_tags(reasoning["reasoning"])
    assert text["text"].strip() and _no_tags(text["text"])


# ---- reasoning=None: the output as the model wrote it ---------------------------------------


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_none_leaves_the_output_as_it_is(runtime: str, style: str) -> None:
    chat, opts = _chat(runtime, style)
    msg = chat.invoke(QUESTION, **opts)
    assert "reasoning_content" not in msg.additional_kwargs
    assert isinstance(msg.content, str) and "</think>" in msg.content
    if style == "qwen3":
        assert msg.content.lstrip().startswith("<think>")
    assert msg.usage_metadata is not None and "output_token_details" not in msg.usage_metadata
    llm, lopts = _llm(runtime, style)
    assert "</think>" in llm.invoke(_text_prompt(style), **lopts)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_call_option_overrides_the_field(runtime: str) -> None:
    chat, opts = _chat(runtime, "qwen3", reasoning=True)
    left = chat.invoke(QUESTION, reasoning=None, **opts)
    assert "<think>" in str(left.content) and not left.additional_kwargs
    plain, opts = _chat(runtime, "qwen3")
    _check_thoughts_apart(plain.invoke(QUESTION, reasoning=True, **opts))
    llm, lopts = _llm(runtime, "qwen3", reasoning=True)
    assert "<think>" in llm.invoke(_text_prompt("qwen3"), reasoning=None, **lopts)


# ---- reasoning=False: no thoughts ------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_false_closes_the_thought_and_strips_thoughts(runtime: str, style: str) -> None:
    chat, _ = _chat(runtime, style, reasoning=False)
    prompts = _spy_prompts(chat)
    # llama.cpp: the grammar makes the model think anyway; the thought is stripped.
    opts: dict[str, Any] = {"grammar": think_grammar()} if runtime == "llamacpp" else {}
    msg = chat.invoke(QUESTION, **opts)
    # qwen3: enable_thinking=False renders the empty thought; r1: the plan closes the
    # thought its generation prompt opens.
    closed = "<think>\n\n</think>\n\n"
    assert len(prompts) == 1 and prompts[0].endswith(closed), prompts
    assert prompts[0].count("<think>") == 1
    assert "reasoning_content" not in msg.additional_kwargs
    if runtime == "llamacpp":
        assert isinstance(msg.content, str) and msg.content.strip() and _no_tags(msg.content)
    llm, _ = _llm(runtime, style, reasoning=False)
    llm_prompts = _spy_prompts(llm)
    gen = llm.generate([_text_prompt(style)], **opts).generations[0][0]
    assert "reasoning_content" not in (gen.generation_info or {})
    if style == "r1":
        assert llm_prompts[0].endswith(closed)
    if runtime == "llamacpp":
        assert gen.text.strip() and _no_tags(gen.text)


# ---- earlier turns' thoughts in the prompt ---------------------------------------------------


def _history(*, then_user: bool) -> list[BaseMessage]:
    msgs: list[BaseMessage] = [
        HumanMessage("the moon"),
        AIMessage("sun sky", additional_kwargs={"reasoning_content": "earlier thought"}),
    ]
    return [*msgs, HumanMessage("and the sea")] if then_user else msgs


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_earlier_thoughts_render_as_the_template_says(runtime: str) -> None:
    qwen: Any = _chat(runtime, "qwen3")[0]
    r1: Any = _chat(runtime, "r1")[0]

    def render(chat: Any, msgs: list[BaseMessage]) -> str:
        return str(chat.render(msgs, reasoning=True).prompt)

    # qwen3: shown after the last user turn (a tool loop), dropped before it.
    assert "<think>\nearlier thought\n</think>\n\nsun sky" in render(
        qwen, _history(then_user=False)
    )
    assert "earlier thought" not in render(qwen, _history(then_user=True))
    # r1: always dropped.
    for then_user in (False, True):
        prompt = render(r1, _history(then_user=then_user))
        assert "earlier thought" not in prompt and "sun sky" in prompt


def test_a_reply_with_its_thoughts_goes_back_into_the_history() -> None:
    face, opts = _chat("llamacpp", "qwen3", reasoning=True)
    chat: Any = face
    first = chat.invoke(QUESTION, **opts)
    thought = str(first.additional_kwargs["reasoning_content"])
    loop = chat.render([HumanMessage(QUESTION), first]).prompt
    assert f"<think>\n{thought}\n</think>\n\n{first.content}" in loop
    assert thought not in chat.render([HumanMessage(QUESTION), first, HumanMessage("ok")]).prompt


# ---- constrained replies after a thought (llama.cpp's grammar) -------------------------------


class Alarm(BaseModel):
    """Set an alarm."""

    hour: int = Field(ge=0, le=23)
    label: str = Field(max_length=12)


def _thinking_chat(style: str, **fields: Any) -> ChatLlamaCpp:
    _needs("llamacpp")
    fields = {"temperature": 0, "max_tokens": 256, "n_ctx": 2048, **fields}
    return ChatLlamaCpp(model_path=str(thinking_path(style)), **fields)


@pytest.mark.parametrize("reasoning", [True, None])
@pytest.mark.parametrize("choice", ["any", "Alarm"])
@pytest.mark.parametrize("style", STYLES)
def test_forced_tool_calls_follow_a_thought(style: str, choice: str, reasoning: Any) -> None:
    chat = _thinking_chat(style, reasoning=reasoning)
    msg = chat.bind_tools([Alarm], tool_choice=choice).invoke("wake me at 7")
    assert isinstance(msg, AIMessage) and len(msg.tool_calls) == 1, msg
    call = msg.tool_calls[0]
    assert call["name"] == "Alarm"
    Alarm.model_validate(call["args"])
    assert msg.content == ""
    thought = msg.additional_kwargs.get("reasoning_content", "")
    if reasoning is True or style == "r1":  # r1's prompt opens the thought: it is split out
        assert thought.strip() and _no_tags(thought)
        assert msg.usage_metadata is not None
        details, total = msg.usage_metadata["output_token_details"], msg.usage_metadata
        assert 0 < details["reasoning"] < total["output_tokens"]


@pytest.mark.parametrize("style", STYLES)
async def test_structured_output_follows_a_thought(style: str) -> None:
    chat = _thinking_chat(style, reasoning=True)
    structured = chat.with_structured_output(Alarm, include_raw=True)
    out = structured.invoke("wake me at 7")
    assert isinstance(out["parsed"], Alarm) and out["parsing_error"] is None
    raw = out["raw"]
    assert raw.additional_kwargs["reasoning_content"].strip()
    assert _no_tags(raw.additional_kwargs["reasoning_content"]) and "<think>" not in raw.content
    again = await structured.ainvoke("wake me at 7")
    assert again["parsed"] == out["parsed"]
    chunks = [c async for c in chat.astream("wake me at 7", response_format=_format())]
    assert all(c.content == "" for c in chunks if c.additional_kwargs.get("reasoning_content"))


def _format() -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "Alarm", "schema": Alarm.model_json_schema()},
    }


@pytest.mark.parametrize("style", STYLES)
def test_false_answers_a_constrained_reply_without_thinking(style: str) -> None:
    chat = _thinking_chat(style, reasoning=False)
    prompts = _spy_prompts(chat)
    out = chat.with_structured_output(Alarm, include_raw=True).invoke("wake me at 7")
    assert isinstance(out["parsed"], Alarm)
    assert "reasoning_content" not in out["raw"].additional_kwargs
    assert len(prompts) == 1  # no thought step


@pytest.mark.parametrize("style", STYLES)
def test_auto_tools_split_the_thought_out(style: str) -> None:
    chat = _thinking_chat(style, reasoning=True, max_tokens=48)
    msg = chat.bind_tools([Alarm]).invoke(
        "wake me at 7", grammar=think_grammar(opened=style == "r1")
    )
    _check_thoughts_apart(msg)


# ---- checked replies (gpt4all: no grammar) ---------------------------------------------------


def test_gpt4all_checked_reply_is_parsed_without_its_thought() -> None:
    # r1: the prompt opens the thought, so every attempt starts thinking.
    chat, _ = _chat("gpt4all", "r1", reasoning=True, max_retries=1)
    out: Any = chat.with_structured_output(Alarm, include_raw=True).invoke(QUESTION)
    raw = out["raw"]
    assert raw.response_metadata["attempts"] == 2
    thought = raw.additional_kwargs["reasoning_content"]
    assert thought.strip() and _no_tags(thought) and _no_tags(str(raw.content))
    assert raw.usage_metadata is not None
    assert raw.usage_metadata["output_token_details"]["reasoning"] > 0
    chunks = list(chat.bind_tools([Alarm], tool_choice="any").stream(QUESTION))
    assert any(c.additional_kwargs.get("reasoning_content") for c in chunks)
    assert all(c.content == "" for c in chunks if c.additional_kwargs.get("reasoning_content"))


# ---- a real thinking model (optional) --------------------------------------------------------


def _live_model() -> str:
    path = os.environ.get("LOCALKIT_REASONING_TEST_MODEL")
    if not path:
        pytest.skip("set LOCALKIT_REASONING_TEST_MODEL to a thinking GGUF (Qwen3, R1 distill)")
    return path


def test_a_real_thinking_model() -> None:
    _needs("llamacpp")
    chat = ChatLlamaCpp(model_path=_live_model(), temperature=0, max_tokens=1024, n_ctx=4096)
    question = "What is 2 + 3? Answer with the number."
    msg = chat.invoke(question, reasoning=True)
    assert str(msg.additional_kwargs.get("reasoning_content", "")).strip()
    assert str(msg.content).strip() and _no_tags(str(msg.content))
    quick = chat.invoke(question, reasoning=False)
    assert "reasoning_content" not in quick.additional_kwargs
    assert str(quick.content).strip() and _no_tags(str(quick.content))


@pytest.mark.parametrize("style", STYLES)
def test_llamacpp_logprobs_path_splits_thoughts_too(style: str) -> None:
    llm, opts = _llm("llamacpp", style, reasoning=True, logits_all=True)
    gen = llm.generate([_text_prompt(style)], logprobs=1, **opts).generations[0][0]
    info = gen.generation_info or {}
    assert gen.text.strip() and _no_tags(gen.text)
    assert info["reasoning_content"].strip() and info["logprobs"] is not None
    usage = info["usage"]
    assert 1 < usage["output_token_details"]["reasoning"] < usage["output_tokens"]

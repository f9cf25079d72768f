"""The prompt pack's thinking plan, earlier turns' thoughts, usage and the GBNF of a thought."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import GenerationChunk

from langchain_localkit._core.langchain import join_chunks, usage_metadata
from langchain_localkit._core.reasoning import HARMONY, MISTRAL_THINK, THINK
from langchain_localkit.prompts import detect, get_family, render_chat
from langchain_localkit.prompts._messages import reasoning_of
from langchain_localkit.prompts.thinking import (
    plan_thinking,
    thinking_variables,
    thought_format_of,
)
from langchain_localkit.testing.thinking import QWEN3_LIKE_TEMPLATE, R1_LIKE_TEMPLATE

OPEN = "<|im_start|>assistant\n<think>\n"
PLAIN = "<|im_start|>assistant\n"


def test_formats_of_templates_families_and_detections() -> None:
    assert thought_format_of(QWEN3_LIKE_TEMPLATE) is THINK
    assert thought_format_of(R1_LIKE_TEMPLATE) is THINK
    assert thought_format_of("[THINK]{{ x }}[/THINK]") is MISTRAL_THINK
    assert thought_format_of("{{ messages }}") is None
    for family in ("chatml", "deepseek"):
        assert get_family(family).thinking == "think"
        assert thought_format_of(family) is THINK
        assert thought_format_of(get_family(family)) is THINK
    assert thought_format_of("gemma") is None
    assert thought_format_of(None) is None
    assert thought_format_of(detect("Qwen3-8B-Q4_K_M.gguf")) is THINK


def test_thinking_variables() -> None:
    assert thinking_variables(None) == {}
    assert thinking_variables(True) == {"enable_thinking": True}
    assert thinking_variables(False) == {"enable_thinking": False}
    assert thinking_variables("low") == {"enable_thinking": True, "reasoning_effort": "low"}


def test_the_variables_reach_the_template() -> None:
    off = render_chat("hi", QWEN3_LIKE_TEMPLATE, template_kwargs=thinking_variables(False))
    on = render_chat("hi", QWEN3_LIKE_TEMPLATE, template_kwargs=thinking_variables(True))
    assert off.prompt.endswith(PLAIN + "<think>\n\n</think>\n\n")
    assert on.prompt.endswith(PLAIN)


@pytest.mark.parametrize(
    ("prompt", "fmt", "reasoning", "constrained", "expected"),
    [
        # (opened, keep, split, think_first)
        (PLAIN, THINK, None, False, (False, False, False, False)),
        (PLAIN, THINK, True, False, (False, True, True, True)),
        (PLAIN, THINK, "high", False, (False, True, True, True)),
        (PLAIN, THINK, False, False, (False, False, True, False)),
        (PLAIN, THINK, None, True, (False, True, True, False)),
        (OPEN, THINK, None, False, (True, False, False, True)),
        (OPEN, THINK, None, True, (True, True, True, True)),
        (OPEN, THINK, True, False, (True, True, True, True)),
        (OPEN, THINK, False, True, (False, False, True, False)),
        (OPEN, None, True, False, (True, True, True, True)),  # <think> assumed
        (OPEN, None, None, True, (False, True, False, False)),  # nothing known: nothing split
        (PLAIN, HARMONY, True, True, (False, True, True, False)),  # not tagged: no thought step
    ],
)
def test_plan_thinking(
    prompt: str, fmt: object, reasoning: object, constrained: bool, expected: tuple[bool, ...]
) -> None:
    plan = plan_thinking(prompt, fmt, reasoning, constrained=constrained)  # type: ignore[arg-type]
    assert (plan.opened, plan.keep, plan.split, plan.think_first) == expected
    assert (plan.splitter() is not None) == (plan.split and plan.fmt is not None)
    if reasoning is False and prompt == OPEN:
        assert plan.prompt == prompt.rstrip() + "\n\n</think>\n\n"
    else:
        assert plan.prompt == prompt


def test_splitters_are_fresh_per_reply() -> None:
    plan = plan_thinking(OPEN, THINK, True)
    one, two = plan.splitter(), plan.splitter()
    assert one is not two and one is not None and one.in_thought


def test_reasoning_of_earlier_turns() -> None:
    assert reasoning_of(AIMessage("x", additional_kwargs={"reasoning_content": "hm"})) == "hm"
    blocks = [{"type": "reasoning", "reasoning": "a"}, {"type": "text", "text": "x"}]
    assert reasoning_of(AIMessage(content=blocks)) == "a"  # type: ignore[arg-type]
    assert reasoning_of(AIMessage(content=[{"type": "thinking", "thinking": "b"}])) == "b"
    assert reasoning_of(AIMessage("x")) == "" and reasoning_of(HumanMessage("x")) == ""


def test_templates_see_earlier_thoughts() -> None:
    turn = AIMessage("Paris.", additional_kwargs={"reasoning_content": "capital"})
    loop = render_chat([HumanMessage("q"), turn], QWEN3_LIKE_TEMPLATE).prompt
    assert "<think>\ncapital\n</think>\n\nParis." in loop
    later = render_chat([HumanMessage("q"), turn, HumanMessage("r")], QWEN3_LIKE_TEMPLATE)
    assert "capital" not in later.prompt and "Paris." in later.prompt
    r1 = render_chat([HumanMessage("q"), turn], R1_LIKE_TEMPLATE).prompt
    assert "capital" not in r1 and "Paris." in r1


def test_join_chunks_gathers_the_thoughts() -> None:
    chunks = [
        GenerationChunk(text="", generation_info={"reasoning_content": "a "}),
        GenerationChunk(text="x"),
        GenerationChunk(text="", generation_info={"reasoning_content": "b"}),
        GenerationChunk(text="y", generation_info={"finish_reason": "stop"}),
    ]
    gen = join_chunks(chunks)
    assert gen.text == "xy"
    assert gen.generation_info == {"finish_reason": "stop", "reasoning_content": "a b"}
    assert join_chunks([GenerationChunk(text="x")]).generation_info is None


def test_usage_metadata_reports_reasoning_tokens() -> None:
    assert usage_metadata(3, 5) == {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8}
    assert usage_metadata(3, 5, 2)["output_token_details"] == {"reasoning": 2}


@pytest.fixture(scope="module")
def parses_gbnf(tiny_gguf_path: Path) -> Iterator[Callable[[str], bool]]:
    """Whether llama.cpp's grammar parser accepts a GBNF text (against the tiny vocabulary).

    `compile_grammar` only wraps the text; llama.cpp parses it when sampling starts, and a bad
    grammar crashes there, so the parser is asked directly.
    """
    llama_cpp = pytest.importorskip("llama_cpp")
    llm = llama_cpp.Llama(str(tiny_gguf_path), n_ctx=64, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm._model.model)

    def parses(gbnf: str) -> bool:
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
        if not sampler:
            return False
        llama_cpp.llama_sampler_free(sampler)
        return True

    yield parses
    llm.close()


def test_thought_grammars_compile(parses_gbnf: Callable[[str], bool]) -> None:
    from langchain_localkit.engines.gbnf import (
        compile_grammar,
        json_schema_to_gbnf,
        thought_gbnf,
        thought_step_gbnf,
        tool_calls_gbnf,
        with_thought,
    )

    assert not parses_gbnf("root ::= undefined-rule")
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    for fmt in (THINK, MISTRAL_THINK):
        assert thought_gbnf(fmt, opened=True).startswith("thought ::= thought-char*")
        step = thought_step_gbnf(fmt)
        assert step.startswith("root ::= thought?") and fmt.close in step
        assert parses_gbnf(step) and compile_grammar(step) is not None
        bodies = (json_schema_to_gbnf(schema), tool_calls_gbnf([tool]))
        for opened in (False, True):
            for body in bodies:
                grammar = with_thought(body, fmt, opened=opened)
                head = grammar.splitlines()[0]
                assert head == f"root ::= thought{'' if opened else '?'} answer-root"
                assert parses_gbnf(grammar), grammar


@pytest.mark.parametrize("opened", [False, True])
def test_a_thought_before_any_json_compiles(
    parses_gbnf: Callable[[str], bool], opened: bool
) -> None:
    from langchain_localkit.engines.gbnf import any_json_gbnf, with_thought

    assert parses_gbnf(with_thought(any_json_gbnf(), THINK, opened=opened))

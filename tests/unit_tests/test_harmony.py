"""gpt-oss in the prompt pack: the Harmony thought format, the effort in the prompt, the split."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from langchain_localkit._core.generation import ReasoningDelta, TextDelta
from langchain_localkit._core.reasoning import HARMONY
from langchain_localkit.prompts import detect, get_family, render_chat
from langchain_localkit.prompts.thinking import plan_thinking, thinking_variables, thought_format_of


def test_the_family_thinks_in_harmony() -> None:
    family = get_family("gpt-oss")
    assert family.thinking == "harmony"
    assert thought_format_of(family) is HARMONY
    assert thought_format_of(detect("gpt-oss:20b")) is HARMONY
    assert thought_format_of(family.template) is HARMONY


@pytest.mark.parametrize(
    ("reasoning", "effort"),
    [(None, "medium"), (True, "medium"), ("low", "low"), ("high", "high"), (False, "low")],
)
def test_the_switch_reaches_the_system_message(reasoning: object, effort: str) -> None:
    variables = thinking_variables(reasoning)  # type: ignore[arg-type]
    prompt = render_chat([HumanMessage("Hi")], "gpt-oss", template_kwargs=variables).prompt
    assert f"\nReasoning: {effort}\n\n# Valid channels: analysis, commentary, final." in prompt
    assert prompt.endswith("<|start|>user<|message|>Hi<|end|><|start|>assistant")


def test_a_reply_is_split_on_its_channels() -> None:
    rendered = render_chat([HumanMessage("What is 2 + 2?")], "gpt-oss")
    plan = plan_thinking(rendered.prompt, HARMONY, "high")
    assert (plan.split, plan.keep, plan.opened, plan.think_first) == (True, True, False, False)
    splitter = plan.splitter()
    assert splitter is not None
    reply = (
        "<|channel|>analysis<|message|>Simple arithmetic.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4."
    )
    events = [e for i in range(0, len(reply), 5) for e in splitter.feed(reply[i : i + 5])]
    events += splitter.flush()
    thought = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert (thought, answer) == ("Simple arithmetic.", "2 + 2 = 4.")

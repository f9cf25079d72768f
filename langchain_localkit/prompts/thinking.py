"""What the prompt pack knows about thinking models: thought markers, switches, the plan.

A model's thought format comes from its chat template (a template that writes or strips
`<think>`, `[THINK]` or Harmony channels), else its family (`ModelFamily.thinking`); when
neither says and `reasoning` is asked for, the common `<think>…</think>` is assumed. The switch
reaches the template as the variables the real templates read: `enable_thinking` (Qwen3,
SmolLM3, Granite, ...) and `reasoning_effort` (gpt-oss). `plan_thinking` then looks at the
rendered prompt: a prompt that ends inside an open thought (DeepSeek-R1) starts the reply
thinking, and with `reasoning=False` that thought is closed empty in the prompt so the model
answers at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_localkit._core.reasoning import (
    EFFORTS,
    THINK,
    THOUGHT_FORMATS,
    Reasoning,
    ThoughtFormat,
    ThoughtSplitter,
    keeps_thoughts,
    opens_thought,
    skip_thought,
    thought_format_in_template,
)
from langchain_localkit.prompts.guard import GuardPolicy


def thought_format_of(target: Any) -> ThoughtFormat | None:
    """The thought format of a prompt target (a template, a family or a `Detection`).

    The template's markers first, then the family's `thinking`; None when neither says.
    """
    from langchain_localkit.prompts.detection import Detection
    from langchain_localkit.prompts.families import FAMILIES, ModelFamily

    template: str | None = None
    family: ModelFamily | None = None
    if isinstance(target, Detection):
        template, family = target.chat_template, target.family
    elif isinstance(target, ModelFamily):
        family = target
    elif isinstance(target, str):
        family = FAMILIES.find(target)
        template = None if family is not None else target
    found = thought_format_in_template(template)
    if found is None and family is not None:
        found = thought_format_in_template(family.template)
        if found is None and family.thinking is not None:
            found = THOUGHT_FORMATS[family.thinking]
    return found


def thinking_variables(reasoning: Reasoning) -> dict[str, Any]:
    """The chat-template variables that carry the switch (templates ignore unknown ones).

    Example:
        >>> thinking_variables(False), thinking_variables("high")
        ({'enable_thinking': False}, {'enable_thinking': True, 'reasoning_effort': 'high'})
    """
    if reasoning is None:
        return {}
    if reasoning in EFFORTS:
        return {"enable_thinking": True, "reasoning_effort": reasoning}
    return {"enable_thinking": bool(reasoning)}


@dataclass(frozen=True)
class ThinkingPlan:
    """How one generation treats thoughts.

    Attributes:
        prompt: The prompt to send (a thought closed empty when `reasoning=False` met a
            template that opens one).
        fmt: The thought format (None: nothing is parsed).
        opened: The prompt ends inside an open thought.
        keep: Thoughts are kept apart (True) or stripped (False).
        split: Replies are split into thoughts and answer.
        think_first: A constrained reply (tool calls, structured output) may start with a
            thought block; a tagged format only.
    """

    prompt: str
    fmt: ThoughtFormat | None
    opened: bool
    keep: bool
    split: bool
    think_first: bool

    def splitter(self) -> ThoughtSplitter | None:
        """A fresh splitter for one reply, or None when nothing is split."""
        if not self.split or self.fmt is None:
            return None
        return ThoughtSplitter(self.fmt, opened=self.opened, keep=self.keep)


def render_planned(
    messages: Sequence[Any],
    target: Any,
    reasoning: Reasoning,
    *,
    guard: GuardPolicy = "escape",
    constrained: bool = False,
) -> tuple[Any, ThinkingPlan]:
    """Render a chat for a thinking model and plan its reply: (`RenderedPrompt`, plan).

    The switch reaches the template (`thinking_variables`); the plan reads the rendered
    prompt and the target's thought format. What every prompt-pack chat face does per call.
    """
    from langchain_localkit.prompts.render import render_chat

    rendered = render_chat(
        list(messages), target, guard=guard, template_kwargs=thinking_variables(reasoning)
    )
    fmt = thought_format_of(target) if reasoning is not None or constrained else None
    plan = plan_thinking(rendered.prompt, fmt, reasoning, constrained=constrained)
    return rendered, plan


def plan_thinking(
    prompt: str, fmt: ThoughtFormat | None, reasoning: Reasoning, *, constrained: bool = False
) -> ThinkingPlan:
    r"""The plan for a rendered prompt, its model's thought format and the switch.

    Args:
        prompt: The rendered prompt.
        fmt: The model's thought format, if known (`<think>` is assumed when `reasoning` is
            set and nothing is known).
        reasoning: The switch.
        constrained: The reply is parsed (tool calls, structured output): thoughts are always
            split out of it, even with `reasoning=None`, and kept apart unless False.

    Example:
        >>> plan = plan_thinking("<|im_start|>assistant\n<think>\n", None, True)
        >>> plan.opened, plan.keep, plan.split
        (True, True, True)
        >>> plan_thinking("...<think>\n", THINK, False).prompt
        '...<think>\n\n</think>\n\n'
    """
    if fmt is None and reasoning is not None:
        fmt = THINK
    opened = opens_thought(prompt, fmt)
    if reasoning is False and opened and fmt is not None:
        prompt, opened = skip_thought(prompt, fmt), False
    keep = keeps_thoughts(reasoning) or (reasoning is None and constrained)
    split = fmt is not None and (reasoning is not None or constrained)
    think_first = (
        fmt is not None
        and fmt.tagged
        and reasoning is not False
        and (opened or keeps_thoughts(reasoning))
    )
    return ThinkingPlan(prompt, fmt, opened, keep, split, think_first)


__all__ = [
    "ThinkingPlan",
    "plan_thinking",
    "render_planned",
    "thinking_variables",
    "thought_format_of",
]

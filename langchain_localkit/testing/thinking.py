r"""A thinking model for offline tests: the tiny GGUF with a thinking chat template.

No small thinking model is on PyPI, so the shape is forced: `make_thinking_gguf` writes the
tiny llama model (`make_tiny_gguf`) with a chat template in its metadata written like the real
thinking templates, and `think_grammar` is a GBNF grammar that makes llama.cpp (in process or in
llama-server) write `<think>…</think>answer`, token by token, as a thinking model does.

Two template styles:

- "qwen3": ChatML; the reply opens `<think>` itself; `enable_thinking=false` renders an empty,
  closed thought after the generation prompt (so the model answers at once); earlier assistant
  turns show their `reasoning_content` only after the last user message (a tool loop), as
  Qwen3's template does.
- "r1": ChatML turns, but the generation prompt itself opens `<think>\n` (DeepSeek-R1's later
  templates do), so the reply starts inside the thought; earlier reasoning is always dropped.

Example:
    >>> from langchain_localkit.testing.thinking import make_thinking_gguf, think_grammar
    >>> path = make_thinking_gguf("/tmp/think.gguf")  # doctest: +SKIP
    >>> from langchain_localkit import ChatLlamaCpp
    >>> chat = ChatLlamaCpp(model_path=str(path), reasoning=True, temperature=0)  # doctest: +SKIP
    >>> msg = chat.invoke("the moon", grammar=think_grammar())  # doctest: +SKIP
    >>> msg.additional_kwargs["reasoning_content"], msg.content  # doctest: +SKIP
    ('made story with lost can id a', 'made story after ok')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

ThinkingStyle = Literal["qwen3", "r1"]

QWEN3_LIKE_TEMPLATE = (
    "{%- set ns = namespace(last_user=-1) -%}"
    "{%- for m in messages -%}{%- if m['role'] == 'user' -%}{%- set ns.last_user = loop.index0 -%}"
    "{%- endif -%}{%- endfor -%}"
    "{%- for m in messages -%}"
    "{%- if m['role'] == 'assistant' -%}"
    "{%- set content = m['content'] or '' -%}"
    "{%- set thought = m['reasoning_content'] if m['reasoning_content'] is defined and "
    "m['reasoning_content'] else '' -%}"
    "{%- if '</think>' in content -%}"
    "{%- set thought = content.split('</think>')[0].split('<think>')[-1].strip('\\n') -%}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') -%}"
    "{%- endif -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if loop.index0 > ns.last_user and thought -%}"
    "{{- '<think>\\n' + thought + '\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{{- content + '<|im_end|>\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{- '<think>\\n\\n</think>\\n\\n' -}}{%- endif -%}{%- endif -%}"
)
"""Qwen3's shape: the model opens `<think>`; `enable_thinking=false` closes it in the prompt;
thoughts of a tool loop's assistant turns are shown, earlier ones dropped."""

R1_LIKE_TEMPLATE = (
    "{%- for m in messages -%}"
    "{%- if m['role'] == 'assistant' -%}"
    "{%- set content = m['content'] or '' -%}"
    "{%- if '</think>' in content -%}{%- set content = content.split('</think>')[-1] -%}"
    "{%- endif -%}"
    "{{- '<|im_start|>assistant\\n' + content + '<|im_end|>\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n<think>\\n' -}}{%- endif -%}"
)
"""DeepSeek-R1's shape: the generation prompt opens `<think>`; earlier thoughts are dropped."""

TEMPLATES: dict[str, str] = {"qwen3": QWEN3_LIKE_TEMPLATE, "r1": R1_LIKE_TEMPLATE}


def think_grammar(
    *,
    opened: bool = False,
    thought_words: tuple[int, int] = (3, 8),
    answer_words: tuple[int, int] = (2, 6),
) -> str:
    r"""A GBNF grammar for `<think> words </think>\n\nwords` (the tiny model picks the words).

    Args:
        opened: The prompt already opened `<think>` (the "r1" style): the reply starts inside.
        thought_words: How many words the thought has (at least, at most).
        answer_words: How many words the answer has.
    """
    lo, hi = thought_words
    alo, ahi = answer_words
    head = "" if opened else '"<think>" '
    return (
        f'root ::= {head}"\\n" word{{{lo},{hi}}} "\\n</think>\\n\\n" aword{{{alo},{ahi}}}\n'
        'word ::= " " [a-z]{1,12}\n'
        'aword ::= " " [a-z]{1,12}'
    )


def make_thinking_gguf(
    path: str | os.PathLike[str], *, style: ThinkingStyle = "qwen3", seed: int = 0
) -> Path:
    """Write the tiny GGUF with a thinking chat template (see the module docstring).

    Args:
        path: Where to write it.
        style: "qwen3" (the model opens `<think>`) or "r1" (the prompt opens it).
        seed: The tiny model's seed.
    """
    from langchain_localkit.testing.tiny import make_tiny_gguf

    if style not in TEMPLATES:
        raise ValueError(f"style must be one of {', '.join(TEMPLATES)}, not {style!r}")
    return make_tiny_gguf(
        path, seed=seed, chat_template=TEMPLATES[style], name=f"tiny-thinking-{style}"
    )


__all__ = [
    "QWEN3_LIKE_TEMPLATE",
    "R1_LIKE_TEMPLATE",
    "TEMPLATES",
    "ThinkingStyle",
    "make_thinking_gguf",
    "think_grammar",
]

"""Render chat templates, including untrusted ones from GGUF files, in a Jinja sandbox.

A GGUF file's `tokenizer.chat_template` is code written by whoever made the file. It is
rendered in `jinja2.sandbox.ImmutableSandboxedEnvironment` with the conventions of Hugging Face
`transformers` (`trim_blocks`, `lstrip_blocks`, the `loopcontrols` extension, a `tojson` that
does not HTML-escape, `raise_exception`, `strftime_now`, and `{% generation %}` blocks), plus
these hardenings:

- touching an unsafe attribute (`__class__`, `__globals__`, `mro`, a list's `append`, ...)
  raises at once instead of yielding a silent undefined value;
- no `{% include %}`, `{% import %}`, `{% from %}`, `{% extends %}` (refused when compiled);
- resource bounds (`_limits.py`): at most `MAX_LOOP_ITERATIONS` loop iterations and
  `MAX_RENDER_SECONDS` per render; no string over `MAX_OUTPUT_CHARS` and no sequence over
  `MAX_REPEAT_CHARS` items, checked before `*`, `**`, `+`, `~`, `%`, `format`, `join`,
  `replace`, padding, `indent`, `batch`, `lipsum` ... build them; the output is capped too.

Any failure becomes a `TemplateError` and nothing is returned: `TemplateSecurityError` when the
template reached for Python internals or loads other templates, `TemplateLimitError` (a
`TemplateSecurityError`) when it broke a resource bound, `TemplateRejectedError` when it called
`raise_exception()` (e.g. "System role not supported").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn

from langchain_localkit._core.errors import TemplateError
from langchain_localkit.prompts import _limits
from langchain_localkit.prompts._limits import (
    MAX_LOOP_ITERATIONS,
    MAX_OUTPUT_CHARS,
    MAX_RENDER_SECONDS,
    MAX_REPEAT_CHARS,
)

if TYPE_CHECKING:
    from jinja2 import Environment, Template, nodes


class TemplateSecurityError(TemplateError):
    """A chat template tried to reach Python internals or to modify its inputs."""


class TemplateLimitError(TemplateSecurityError):
    """A chat template broke a resource bound: too many loop steps, too long, too large."""


class TemplateRejectedError(TemplateError):
    """A chat template refused the messages by calling `raise_exception(...)`."""


class _RaisedByTemplate(Exception):  # an internal signal, never escapes
    pass


def _raise_exception(message: Any = "") -> NoReturn:
    raise _RaisedByTemplate(str(message))


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(str(fmt))  # local time, as transformers does


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    # transformers' tojson: no HTML escaping (Jinja's built-in turns '<' into '\u003c').
    return json.dumps(
        value,
        ensure_ascii=ensure_ascii,
        indent=indent,
        separators=separators,
        sort_keys=sort_keys,
        default=_json_default,
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    from jinja2.ext import Extension, loopcontrols
    from jinja2.parser import Parser
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

    class GenerationBlocks(Extension):
        """`{% generation %}...{% endgeneration %}` (transformers' assistant-mask marker)."""

        tags = {"generation"}

        def parse(self, parser: Parser) -> list[nodes.Node]:
            next(parser.stream)
            return parser.parse_statements(("name:endgeneration",), drop_needle=True)

    class HardenedSandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
            raise SecurityError(
                f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
            )

        def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
            return _limits.bound_tree(super()._parse(source, name, filename), self)

        def getattr(self, obj: Any, attribute: str) -> Any:
            _limits.tick()
            return super().getattr(obj, attribute)

        def getitem(self, obj: Any, argument: Any) -> Any:
            _limits.tick()
            return super().getitem(obj, argument)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            _limits.tick()
            _limits.check_str_method(__obj, args, kwargs)
            return super().call(__context, __obj, *args, **kwargs)

        def wrap_str_format(self, value: Any) -> Any:
            wrapped = super().wrap_str_format(value)
            if wrapped is None:
                return None
            fmt = value.__self__

            def bounded_format(*args: Any, **kwargs: Any) -> Any:
                _limits.check_format(fmt, args, kwargs)
                _limits.check_weight([args, kwargs], "a format")
                return wrapped(*args, **kwargs)

            return bounded_format

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            _limits.tick()
            if operator == "*":
                _limits.check_product(left, right)
            elif operator == "**":
                _limits.check_power(left, right)
            elif operator == "+":
                _limits.check_sum(left, right)
            elif operator == "%" and isinstance(left, str):
                _limits.check_percent(left, right)
                _limits.check_weight(right, "a '%' format")
            return super().call_binop(context, operator, left, right)

    env = HardenedSandbox(
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        extensions=[GenerationBlocks, loopcontrols],
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    _limits.install(env)
    return env


@lru_cache(maxsize=128)
def compile_template(template: str) -> Template:
    """Compile a chat template in the sandbox (cached by its source).

    Raises:
        TemplateSecurityError: The template loads other templates (`{% include %}`, ...).
        TemplateError: The template is not valid Jinja.
    """
    from jinja2 import TemplateSyntaxError

    if not isinstance(template, str) or not template.strip():
        raise TemplateError("The chat template is empty.")
    try:
        return _environment().from_string(template)
    except _limits.LimitExceeded as e:
        raise TemplateSecurityError(
            f"The chat template was refused by the sandbox: {e}. Do not trust this template "
            "(pass a known `chat_format` instead)."
        ) from None
    except TemplateSyntaxError as e:
        raise TemplateError(f"The chat template is not valid Jinja (line {e.lineno}): {e}") from e
    except Exception as e:  # the template is untrusted: any compile failure is its own
        raise TemplateError(f"The chat template cannot be compiled: {e}") from e


def render_template(
    template: str,
    messages: list[dict[str, Any]],
    *,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    **context: Any,
) -> str:
    r"""Render a Hugging Face-style chat template in the hardened sandbox.

    The template sees `messages`, `add_generation_prompt`, `bos_token`, `eos_token`,
    `raise_exception`, `strftime_now` and whatever is passed in `context` (`tools`,
    `documents`, `date_string`, ...). Messages are given as dicts; this function does not
    guard their content (`render_chat` does).

    Args:
        template: The Jinja source, e.g. a GGUF file's `tokenizer.chat_template`.
        messages: HF-style message dicts (`role`, `content`, ...).
        add_generation_prompt: Ask the template to open the assistant's turn.
        bos_token: The model's BOS string.
        eos_token: The model's EOS string.
        **context: More template variables.

    Returns:
        The prompt text.

    Raises:
        TemplateSecurityError: The template tried to reach Python internals, to modify its
            inputs or to load other templates; nothing is rendered.
        TemplateLimitError: The template broke a resource bound (`MAX_LOOP_ITERATIONS`,
            `MAX_RENDER_SECONDS`, `MAX_OUTPUT_CHARS`, `MAX_REPEAT_CHARS`).
        TemplateRejectedError: The template called `raise_exception()`.
        TemplateError: Any other failure (syntax, undefined values, oversized output).

    Example:
        >>> from langchain_localkit.prompts import render_template
        >>> render_template(
        ...     "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}",
        ...     [{"role": "user", "content": "Hi"}],
        ... )
        '[user] Hi\n'
    """
    from jinja2.sandbox import SecurityError

    compiled = compile_template(template)
    parts: list[str] = []
    size = 0
    try:
        with _limits.render_budget():
            for chunk in compiled.generate(
                messages=messages,
                add_generation_prompt=add_generation_prompt,
                bos_token=bos_token,
                eos_token=eos_token,
                **context,
            ):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise TemplateLimitError(
                        f"The chat template produced more than {MAX_OUTPUT_CHARS} characters; "
                        "refusing to continue. Do not trust this template (pass a known "
                        "`chat_format` instead)."
                    )
                parts.append(chunk)
    except _limits.LimitExceeded as e:
        raise TemplateLimitError(
            f"The chat template was stopped by the sandbox: {e} (limits: "
            f"{_limits.MAX_LOOP_ITERATIONS} loop iterations, {_limits.MAX_RENDER_SECONDS:g} s, "
            f"{_limits.MAX_OUTPUT_CHARS} characters). A chat template renders in milliseconds; "
            "this one is broken or hostile. Nothing was rendered; pass a known `chat_format` "
            "instead."
        ) from None
    except SecurityError as e:
        raise TemplateSecurityError(
            f"The chat template was stopped by the sandbox ({e}): it tried to reach Python "
            "internals, modify its inputs or exhaust resources. Nothing was rendered; do not "
            "trust this template (pass a known `chat_format` instead)."
        ) from None
    except _RaisedByTemplate as e:
        raise TemplateRejectedError(f"The chat template refused the messages: {e}") from None
    except TemplateError:
        raise
    except RecursionError:
        raise TemplateLimitError(
            "The chat template recursed too deeply (a macro or a recursive loop that calls "
            "itself without end). Nothing was rendered; pass a known `chat_format` instead."
        ) from None
    except Exception as e:  # untrusted code: report any failure as a template error
        raise TemplateError(f"The chat template failed to render: {type(e).__name__}: {e}") from e
    return "".join(parts)


__all__ = [
    "MAX_LOOP_ITERATIONS",
    "MAX_OUTPUT_CHARS",
    "MAX_RENDER_SECONDS",
    "MAX_REPEAT_CHARS",
    "TemplateLimitError",
    "TemplateRejectedError",
    "TemplateSecurityError",
    "compile_template",
    "render_template",
]

"""The sandbox: GGUF chat templates are untrusted code."""

from __future__ import annotations

import re

import pytest
from langchain_core.messages import HumanMessage

from langchain_localkit._core.errors import LocalKitError, TemplateError
from langchain_localkit.prompts import (
    TemplateRejectedError,
    TemplateSecurityError,
    render_chat,
    render_template,
)

# Server-side template injection payloads that reach for Python internals (or mutate inputs,
# or exhaust resources). Each must raise and render nothing.
INJECTION_PAYLOADS = {
    "subclasses via str": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "bare dunder": "{{ ''.__class__ }}",
    "cycler globals to os": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "lipsum globals": "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "helper globals": "{{ raise_exception.__globals__['__builtins__'] }}",
    "strftime_now globals": "{{ strftime_now.__globals__ }}",
    "namespace init": "{{ namespace.__init__.__globals__ }}",
    "template self": "{{ self.__init__.__globals__.__builtins__ }}",
    "format string": "{{ '{0.__class__.__base__}'.format(1) }}",
    "format_map string": "{{ '{x.__class__}'.format_map({'x': 1}) }}",
    "subscript dunder": "{{ ''['__class__'] }}",
    "attr filter": "{{ messages | attr('__class__') }}",
    "loop over subclasses": (
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c.__name__ }}{% endfor %}"
    ),
    "mutate messages": "{{ messages.append({'role': 'system', 'content': 'pwned'}) }}",
    "mutate a message": "{{ messages[0].update({'content': 'pwned'}) }}",
    "memory bomb": "{{ 'A' * 10**10 }}",
    "number bomb": "{{ 7 ** 999999 }}",
}


@pytest.mark.parametrize("payload", INJECTION_PAYLOADS.values(), ids=INJECTION_PAYLOADS.keys())
def test_injection_payload_is_refused(payload: str) -> None:
    prefixed = "SAFE-PREFIX " + payload  # output before the payload must not leak either
    with pytest.raises(TemplateError) as info:
        render_template(prefixed, [{"role": "user", "content": "hi"}])
    assert isinstance(info.value, TemplateSecurityError)
    assert isinstance(info.value, LocalKitError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("payload", list(INJECTION_PAYLOADS.values())[:5])
def test_injection_through_render_chat_renders_nothing(payload: str) -> None:
    result = None
    with pytest.raises(TemplateSecurityError, match="sandbox"):
        result = render_chat([HumanMessage("hi")], "{{ messages[0].content }}" + payload)
    assert result is None


def test_at_least_five_payloads() -> None:
    assert len(INJECTION_PAYLOADS) >= 5


def test_inputs_are_not_mutated_by_a_refused_template() -> None:
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(TemplateSecurityError):
        render_template("{{ messages.append(1) }}", messages)
    assert messages == [{"role": "user", "content": "hi"}]


def test_raise_exception_is_a_rejection() -> None:
    with pytest.raises(TemplateRejectedError, match="roles must alternate"):
        render_template("{{ raise_exception('roles must alternate') }}", [])


def test_syntax_errors_and_runtime_errors_are_template_errors() -> None:
    with pytest.raises(TemplateError, match="not valid Jinja"):
        render_template("{% for %}", [])
    with pytest.raises(TemplateError, match="failed to render"):
        render_template("{{ messages[5].content }}", [])
    with pytest.raises(TemplateError, match="Range too big"):
        render_template("{% for i in range(10**7) %}{% endfor %}", [])
    with pytest.raises(TemplateError, match="empty"):
        render_template("  ", [])


def test_huggingface_helpers() -> None:
    ctx = [{"role": "user", "content": "<b>&"}]
    assert (
        render_template("{{ messages | tojson }}", ctx) == '[{"role": "user", "content": "<b>&"}]'
    )
    assert render_template("{{ {'a': 1} | tojson(indent=2) }}", ctx) == '{\n  "a": 1\n}'
    assert re.fullmatch(
        r"\d{4}-\d{2}-\d{2}", render_template("{{ strftime_now('%Y-%m-%d') }}", ctx)
    )
    loops = "{% for i in range(5) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"
    assert render_template(loops, ctx) == "012"
    assert render_template("{% generation %}kept{% endgeneration %}", ctx) == "kept"
    # trim_blocks / lstrip_blocks, as transformers renders
    assert render_template("{% if true %}\n    x\n{% endif %}\n", ctx) == "    x\n"
    assert render_template("{{ 'a' * 3 }}{{ 2 ** 10 }}", ctx) == "aaa1024"


def test_safe_string_methods_still_work() -> None:
    template = "{{ messages[0].content.strip().split(' ')[-1].title() }}"
    assert render_template(template, [{"role": "user", "content": " a b c "}]) == "C"


def test_oversized_output_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_localkit.prompts import sandbox

    monkeypatch.setattr(sandbox, "MAX_OUTPUT_CHARS", 50)
    with pytest.raises(TemplateError, match="more than 50 characters"):
        render_template("{% for i in range(100) %}xx{% endfor %}", [])

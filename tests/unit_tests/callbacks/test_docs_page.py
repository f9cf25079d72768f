"""docs/callbacks.md: enough examples, and each compiles (the integration suite runs them)."""

from __future__ import annotations

from tests.docs import DOCS, python_blocks


def test_callbacks_page_has_examples() -> None:
    assert len(python_blocks("callbacks.md")) >= 8


def test_callbacks_page_blocks_compile() -> None:
    for i, block in enumerate(python_blocks("callbacks.md")):
        compile(block, f"docs/callbacks.md [block {i + 1}]", "exec", dont_inherit=True)


def test_callbacks_page_covers_the_api() -> None:
    text = (DOCS / "callbacks.md").read_text(encoding="utf-8")
    for name in (
        "StreamingStdOutCallbackHandler",
        "AsyncIteratorCallbackHandler",
        "TimingCallbackHandler",
        "aiter(",
        "report()",
        "to_dict()",
        "table()",
        "plot(",
        "_repr_html_",
        "with_verbose_timing",
        "verbose=True",
    ):
        assert name in text, name

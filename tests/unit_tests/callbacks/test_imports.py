"""The public names of `langchain_localkit.callbacks`, and that importing it loads no runtime."""

from __future__ import annotations

import subprocess
import sys

from langchain_localkit import callbacks

EXPECTED_ALL = [
    "MEASURED",
    "AsyncIteratorCallbackHandler",
    "RunTimings",
    "StreamingStdOutCallbackHandler",
    "TimingCallbackHandler",
    "TimingSummary",
    "TimingTable",
    "get_timing_handler",
    "timings_from_generation",
    "token_text",
    "usage_from_generation",
    "with_verbose_timing",
]


def test_all() -> None:
    assert sorted(callbacks.__all__) == sorted(EXPECTED_ALL)
    for name in EXPECTED_ALL:
        assert getattr(callbacks, name) is not None


def test_import_loads_no_runtime_and_no_matplotlib() -> None:
    code = (
        "import sys, langchain_localkit.callbacks\n"
        "bad = [m for m in ('llama_cpp', 'gpt4all', 'matplotlib', 'pandas', 'langchain_ollama')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

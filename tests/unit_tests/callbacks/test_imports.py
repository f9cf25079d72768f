"""Public names of `callbacks` and `timing`; the package loads no runtime and needs only `_core`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from langchain_localkit import callbacks
from langchain_localkit.callbacks import timing

STREAMING = ["AsyncIteratorCallbackHandler", "StreamingStdOutCallbackHandler", "token_text"]
TIMING = [
    "MEASURED",
    "RunTimings",
    "TimingCallbackHandler",
    "TimingSummary",
    "TimingTable",
    "get_timing_handler",
    "timings_from_generation",
    "usage_from_generation",
    "with_verbose_timing",
]
TIMING_ONLY = ["TABLE_COLUMNS", "attach_verbose_timing"]
"""In `timing`, not re-exported by the package (`attach_verbose_timing` is the faces' hook)."""


@pytest.mark.parametrize(
    ("module", "expected"),
    [(callbacks, STREAMING + TIMING), (timing, TIMING + TIMING_ONLY)],
    ids=["callbacks", "timing"],
)
def test_all(module: ModuleType, expected: list[str]) -> None:
    assert sorted(module.__all__) == sorted(expected)
    for name in expected:
        assert getattr(module, name) is not None, name


def test_import_loads_no_runtime_and_no_matplotlib() -> None:
    code = (
        "import sys, langchain_localkit.callbacks\n"
        "bad = [m for m in ('llama_cpp', 'gpt4all', 'matplotlib', 'pandas', 'langchain_ollama')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_depends_only_on_core() -> None:
    allowed = ("langchain_localkit._core", "langchain_localkit.callbacks")
    for path in Path(callbacks.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("langchain_localkit"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"

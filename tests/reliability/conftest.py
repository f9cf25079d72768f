"""The reliability suite's fixtures, and its report (see `_record`).

Model files come from the session fixtures of `tests/conftest.py` (`tiny_gguf_path`,
`smollm2_path`, `gemma_path`); llama-server processes from the integration suite's
`_servers` (started on first use, stopped at the end of the session).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_localkit.testing.llama_server import LlamaServer
from tests.integration_tests.llamafile import _servers
from tests.reliability import _record

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
DEFAULT_JSON = ROOT / ".reliability" / "last.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reliability-json",
        default=str(DEFAULT_JSON),
        help="where the reliability suite writes its rows and figures (for make reliability-doc)",
    )


@pytest.fixture(scope="session", autouse=True)
def _stop_llama_servers() -> Iterator[None]:
    yield
    _servers.stop_all()


@pytest.fixture(scope="session")
def tiny_server() -> LlamaServer:
    """llama-server on the tiny generated GGUF (ChatML template; thousands of tokens/s)."""
    return _servers.server("tiny")


def doc_rows(text: str) -> dict[tuple[str, str], str]:
    """(case, runtime) -> error type, from the bad-input table of `docs/reliability.md`."""
    rows: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 4:
            rows[(cells[0], cells[1])] = cells[2]
    return rows


def stale_rows(rows: list[_record.Row], text: str) -> list[str]:
    """The recorded rows the page lacks or lists with another error type."""
    listed = doc_rows(text)
    return [
        f"{r.case} on {r.runtime}: {r.error} (page: {listed.get((r.case, r.runtime), 'missing')})"
        for r in rows
        if listed.get((r.case, r.runtime)) != r.error
    ]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _record.ROWS and not _record.FIGURES:
        return
    path = Path(session.config.getoption("--reliability-json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_record.as_json(), indent=2) + "\n", encoding="utf-8")
    stale = stale_rows(_record.ROWS, DOC.read_text(encoding="utf-8") if DOC.exists() else "")
    if stale and exitstatus == 0:
        session.config._reliability_stale = stale  # type: ignore[attr-defined]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _record.ROWS and not _record.FIGURES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability")
    write(f"{len(_record.ROWS)} bad-input cases, each a typed error:")
    for r in _record.ROWS:
        write(f"  {r.case:<32} {r.runtime:<22} {r.error:<26} {r.message[:90]}")
    for f in _record.FIGURES:
        value = f"{f.value:.3g}" if isinstance(f.value, float) else str(f.value)
        write(f"  [{f.section}] {f.name}: {value} {f.unit}".rstrip())
    stale = getattr(terminalreporter.config, "_reliability_stale", None)
    if stale:
        write("docs/reliability.md does not match this run (make reliability-doc):", red=True)
        for line in stale:
            write(f"  {line}", red=True)

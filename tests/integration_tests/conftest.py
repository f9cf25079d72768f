"""Fixtures shared by the integration tests of several runtimes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def llamafile_url() -> Iterator[str]:
    """The base URL of a llama.cpp server (what a llamafile runs) on the tiny GGUF, loopback."""
    from tests.integration_tests.llamafile import _servers

    yield _servers.url("tiny")
    _servers.stop_all()

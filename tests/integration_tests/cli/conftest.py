"""A home with real model stores, and a real terminal (tmux) whose shell runs in it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.cli_home import Home, write_home
from tests.integration_tests.cli._tmux import Terminal


@pytest.fixture(scope="session")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """Ollama, Hugging Face and LM Studio stores of real GGUF files (see `tests.cli_home`)."""
    return write_home(tmp_path_factory.mktemp("localkit-home"))


@pytest.fixture
def terminal(cli_home: Home) -> Iterator[Terminal]:
    """A 160x50 tmux session running bash in the home, its stores in the environment."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: these tests type into a real terminal through it")
    term = Terminal(cli_home.environment(), cli_home.home, width=160, height=50)
    try:
        yield term
    finally:
        term.close()

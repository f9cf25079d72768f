"""The one way in to llama-cpp-python: `import_llama_cpp`, which sets the runtime up on import.

Every use of `llama_cpp` in the package goes through `import_llama_cpp`, so whichever path
imports it first (a model load, a grammar, `localkit doctor`) finds llama.cpp's log routed to
Python `logging` and the load-parameter hook of `llamacpp_amx` installed.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from langchain_localkit._core.errors import RuntimeNotInstalledError
from langchain_localkit.engines.llamacpp_amx import install_params_hook

logger = logging.getLogger("langchain_localkit.llama_cpp")

_RECENT_LOG: deque[str] = deque(maxlen=12)
_LOG_STATE: dict[str, Any] = {}
_IMPORT_LOCK = threading.Lock()


def import_llama_cpp() -> Any:
    """Import llama_cpp once, routing llama.cpp's log output to Python `logging`.

    llama.cpp writes its log to stderr; we install a log callback that sends each line to the
    `langchain_localkit.llama_cpp` logger instead, so `verbose=False` is silent and users who
    want the log configure logging as usual.

    Raises:
        RuntimeNotInstalledError: llama-cpp-python is not installed.
    """
    with _IMPORT_LOCK:
        if "module" in _LOG_STATE:
            return _LOG_STATE["module"]
        try:
            import llama_cpp
        except ImportError as e:
            raise RuntimeNotInstalledError(
                "llama-cpp-python", "llamacpp", "Running GGUF models in-process"
            ) from e
        levels = {1: logging.DEBUG, 2: logging.DEBUG, 3: logging.WARNING, 4: logging.ERROR}

        @llama_cpp.llama_log_callback
        def _route(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
            line = text.decode("utf-8", errors="replace").rstrip("\n")
            if not line:
                return
            # level 5 continues the previous line at its level
            lvl = levels.get(level, _LOG_STATE.get("last_level", logging.DEBUG))
            _LOG_STATE["last_level"] = lvl
            if lvl >= logging.WARNING:
                _RECENT_LOG.append(line)
            if logger.isEnabledFor(lvl):
                logger.log(lvl, "%s", line)

        llama_cpp.llama_log_set(_route, ctypes.c_void_p(0))
        _LOG_STATE["callback"] = _route  # keep the ctypes callback alive
        install_params_hook(llama_cpp)
        _LOG_STATE["module"] = llama_cpp
        return llama_cpp


@contextlib.contextmanager
def captured_log() -> Iterator[Callable[[], str]]:
    """The warnings and errors llama.cpp logs inside the block (its last lines).

    llama.cpp says why a model did not load only in its log.
    """
    _RECENT_LOG.clear()
    yield lambda: "\n".join(_RECENT_LOG)


__all__ = ["captured_log", "import_llama_cpp"]

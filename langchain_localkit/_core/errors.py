"""The error family of langchain-localkit.

Every error subclasses `LocalKitError` and also the closest builtin, so existing
`except FileNotFoundError` / `except ConnectionError` / `except ValueError` code keeps working.
Each message says what happened and what to do about it.

Server errors also match the `requests` exceptions community's `Llamafile` raised (see
`RequestsCompatible`), without `requests` becoming a dependency.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, ClassVar


class LocalKitError(Exception):
    """Base class of every error raised by langchain-localkit."""


class ModelFileError(LocalKitError):
    """A model file cannot be used: missing, a directory, not GGUF, truncated or unsupported.

    Attributes:
        path: The path that was given.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class ModelNotFoundError(ModelFileError, FileNotFoundError):
    """The model file does not exist."""


class ModelIsDirectoryError(ModelFileError, IsADirectoryError):
    """A directory was given where a model file was expected."""


class InvalidModelFileError(ModelFileError, ValueError):
    """The file exists but is not a usable GGUF file (wrong format, truncated, corrupt)."""


class UnsupportedArchitectureError(ModelFileError, ValueError):
    """The runtime cannot load this model architecture.

    Attributes:
        architecture: The `general.architecture` read from the GGUF metadata.
    """

    def __init__(
        self, message: str, path: str | Path | None = None, architecture: str = ""
    ) -> None:
        super().__init__(message, path)
        self.architecture = architecture


class ModelLoadError(LocalKitError, RuntimeError):
    """The runtime failed to load a model file that looked valid.

    Attributes:
        path: The model file, when known.
        reason: The runtime's own reason (e.g. "unknown pre-tokenizer type: 'smollm'"), when it
            gave one.
    """

    def __init__(
        self, message: str, path: str | Path | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.reason = reason


_LOAD_ERROR = re.compile(r"error loading model: (.+)$", re.MULTILINE)


def llama_cpp_load_reason(log: str) -> str | None:
    r"""llama.cpp's own reason for a failed load, found in its log (None if it gave none).

    Example:
        >>> llama_cpp_load_reason(
        ...     "llama_model_load: error loading model: error loading model vocabulary: "
        ...     "unknown pre-tokenizer type: 'smollm'
    llama_load_model_from_file: failed"
        ... )
        "error loading model vocabulary: unknown pre-tokenizer type: 'smollm'"
    """
    found = _LOAD_ERROR.findall(log)
    if found:
        return str(found[-1]).strip()
    for line in log.splitlines():
        low = line.lower()
        if ("error" in low or "failed" in low) and "failed to load lib" not in low:
            return line.strip()
    return None


class RuntimeNotInstalledError(LocalKitError, ImportError):
    """The Python package of a runtime is not installed."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the `{package}` package, which is not installed. "
            f"Install it with `pip install 'langchain-localkit[{extra}]'`."
        )
        self.package = package
        self.extra = extra


class RequestsCompatible(Exception):
    """Server errors that `except requests.exceptions.X` written for community classes catches.

    langchain-community's `Llamafile` called the server with `requests`, so code around it
    catches `requests.exceptions.ConnectionError`, `Timeout` or `HTTPError`. We speak HTTP with
    httpx; when the program has imported `requests` (it must have, to name its exceptions in an
    `except`), a server error is created as a subclass that also derives from the matching
    `requests` exception. Without `requests` nothing changes and nothing is imported.
    """

    _requests_bases: ClassVar[tuple[str, ...]] = ()
    """Names in `requests.exceptions` this error also derives from, when requests is loaded."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        requests = sys.modules.get("requests")
        if requests is not None and cls._requests_bases and "_localkit_base" not in vars(cls):
            cls = _requests_twin(cls, requests)
        if issubclass(cls, OSError):
            # OSError's layout wins in a twin; its __new__ would read (errno, strerror) from
            # two arguments, and our messages are one
            return OSError.__new__(cls, *args[:1])
        return super().__new__(cls, *args, **kwargs)

    def __reduce__(self) -> Any:
        base = getattr(type(self), "_localkit_base", type(self))
        return (base, self.args, self.__dict__)


_TWINS: dict[type[RequestsCompatible], type[RequestsCompatible]] = {}


def _requests_twin(cls: type[RequestsCompatible], requests: Any) -> type[RequestsCompatible]:
    twin = _TWINS.get(cls)
    if twin is not None:
        return twin
    bases = tuple(getattr(requests.exceptions, name) for name in cls._requests_bases)
    twin = type(
        cls.__name__,
        (cls, *bases),
        {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "_localkit_base": cls,
            # what RequestException.__init__ would set; our __init__ runs instead
            "response": None,
            "request": None,
        },
    )
    return _TWINS.setdefault(cls, twin)


class ServerUnavailableError(RequestsCompatible, LocalKitError, ConnectionError):
    """No server answers at the configured URL, or it is still loading after the timeout."""

    _requests_bases: ClassVar[tuple[str, ...]] = ("ConnectionError",)


class ModelNotPulledError(LocalKitError, LookupError):
    """The server (Ollama) does not have this model: pull it first.

    Attributes:
        model: The model name that was asked for.
    """

    def __init__(self, message: str, model: str = "") -> None:
        super().__init__(message)
        self.model = model


class ServerDisconnectedError(ServerUnavailableError):
    """The server closed the connection in the middle of a reply (it crashed or was stopped)."""

    _requests_bases: ClassVar[tuple[str, ...]] = ("ConnectionError", "ChunkedEncodingError")


class ServerTimeoutError(ServerUnavailableError, TimeoutError):
    """The server did not answer, or did not send the next part of a reply, in time."""

    _requests_bases: ClassVar[tuple[str, ...]] = ("ConnectTimeout", "ReadTimeout")


class ServerError(RequestsCompatible, LocalKitError, RuntimeError):
    """A server answered with an error (its own message is kept).

    Attributes:
        status_code: The HTTP status, or None for an error inside a stream.
    """

    _requests_bases: ClassVar[tuple[str, ...]] = ("HTTPError",)

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ContextOverflowError(LocalKitError, ValueError):
    """The prompt (plus the tokens asked for) does not fit the model's context window.

    Attributes:
        n_prompt_tokens: Tokens in the prompt (None when the runtime does not say).
        n_ctx: The context window size.
    """

    def __init__(self, n_prompt_tokens: int | None, n_ctx: int, hint: str = "") -> None:
        size = (
            f"longer than the context window of {n_ctx} tokens"
            if n_prompt_tokens is None
            else f"{n_prompt_tokens} tokens but the context window is {n_ctx} tokens"
        )
        message = f"The prompt is {size}. " + (
            hint or "Shorten the prompt, or load the model with a larger `n_ctx`."
        )
        super().__init__(message)
        self.n_prompt_tokens = n_prompt_tokens
        self.n_ctx = n_ctx


class TemplateError(LocalKitError, ValueError):
    """A chat template is malformed, fails to render, or tried to escape the sandbox."""


GBNF_DOCS = "https://github.com/ggml-org/llama.cpp/blob/master/grammars/README.md"
"""llama.cpp's guide to GBNF, the grammar format."""


class GrammarError(LocalKitError, ValueError):
    """A GBNF grammar llama.cpp cannot use: it does not parse, names no `root` rule, ...

    Attributes:
        grammar: The grammar's text (or the path of its file, when it could not be read).
        reason: llama.cpp's own reason, when it gave one.
    """

    def __init__(self, message: str, grammar: str = "", reason: str | None = None) -> None:
        super().__init__(message)
        self.grammar = grammar
        self.reason = reason


class InvalidRequestError(LocalKitError, ValueError):
    """A call the model cannot run as asked: its messages or options are wrong.

    Examples: no messages at all, a tool result that answers no tool call, a message role the
    chat format does not have, a call option outside its range.
    """


class ModelBusyError(LocalKitError, RuntimeError):
    """A thread tried to use a model while it still holds an unfinished stream on that model."""


__all__ = [
    "GBNF_DOCS",
    "ContextOverflowError",
    "GrammarError",
    "InvalidModelFileError",
    "InvalidRequestError",
    "LocalKitError",
    "ModelBusyError",
    "ModelFileError",
    "ModelIsDirectoryError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelNotPulledError",
    "RequestsCompatible",
    "RuntimeNotInstalledError",
    "ServerDisconnectedError",
    "ServerError",
    "ServerTimeoutError",
    "ServerUnavailableError",
    "TemplateError",
    "UnsupportedArchitectureError",
]

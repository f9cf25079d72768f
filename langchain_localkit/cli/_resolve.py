"""Model arguments: what `localkit chat MODEL`, `info MODEL` and `run --model MODEL` accept.

A model argument is, in this order:

1. a provider string, as `init_local_model` reads it: `ollama:llama3.1:8b` (the Ollama
   server), `lmstudio:qwen3-4b`, `llama-server:@http://127.0.0.1:8080`, `llamacpp:x.gguf`;
2. an existing file: a GGUF, run in process;
3. a path (it has a `/`): a file that should exist, reported as missing if it does not;
4. an alias: a name `localkit models` lists, or an unambiguous form of it (`llama3.1:8b`,
   `Qwen3-4B-Q4_K_M.gguf`, `smollm2-135m-instruct`): its GGUF, run in process.

An unknown alias is the discovery's error, with the closest names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from langchain_localkit._core.errors import LocalKitError, ModelNotFoundError
from langchain_localkit.cli._common import CommandError, build, validation_message

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from langchain_localkit.discovery import LocalModel
    from langchain_localkit.providers import ModelSpec

_OPTION_NAMES: dict[str, tuple[str, ...]] = {
    "n_ctx": ("n_ctx", "num_ctx"),
    "n_threads": ("n_threads", "num_thread"),
    "max_tokens": ("max_tokens", "num_predict"),
    "temperature": ("temperature", "temp"),
    "seed": ("seed",),
    "reasoning": ("reasoning",),
}
"""A generation option (llama.cpp's name) -> its names on the chat classes, first found wins."""


@dataclass(frozen=True)
class ResolvedModel:
    """What a model argument names: a GGUF run in process, or a provider's model.

    Attributes:
        argument: The argument as given.
        path: The GGUF file run in process by `ChatLlamaCpp` (None for other providers).
        spec: The parsed provider string (None for a file or an alias).
        entry: The discovered model an alias named (None otherwise).
    """

    argument: str
    path: Path | None = None
    spec: ModelSpec | None = None
    entry: LocalModel | None = None

    @property
    def name(self) -> str:
        """A short name to show: the alias, the file name, or the provider's model."""
        if self.entry is not None:
            return self.entry.name
        if self.path is not None:
            return self.path.name
        assert self.spec is not None
        return self.spec.model or self.spec.base_url or self.spec.provider

    @property
    def runtime(self) -> str:
        """Where it runs: "llama.cpp" (in process), else the provider (and its address)."""
        if self.path is not None:
            return "llama.cpp"
        assert self.spec is not None
        return self.spec.provider + (f" at {self.spec.base_url}" if self.spec.base_url else "")

    def chat_class(self) -> type[BaseChatModel]:
        """The chat model class (importing its runtime)."""
        if self.path is not None:
            from langchain_localkit.chat_models.llamacpp import ChatLlamaCpp

            return ChatLlamaCpp
        assert self.spec is not None
        return self.spec.info.load()

    def chat_model(self, options: Mapping[str, Any] | None = None) -> BaseChatModel:
        """The chat model, with the generation options the class takes (under its names).

        Args:
            options: llama.cpp's option names (`n_ctx`, `n_threads`, `max_tokens`,
                `temperature`, `seed`, `reasoning`); None values and a negative seed are
                left to the class's defaults, and options the class has no field for are
                dropped (a server has no `n_threads`).
        """
        cls = self.chat_class()
        kwargs = chat_kwargs(cls, options or {})
        if self.path is not None:
            return build(cls, model_path=str(self.path), **kwargs)
        assert self.spec is not None
        try:
            return self.spec.build(kwargs)
        except ValidationError as e:
            raise CommandError(validation_message(e)) from e
        except ValueError as e:
            raise CommandError(str(e)) from e


def chat_kwargs(cls: type[Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """`options` (llama.cpp's names) under the names `cls` declares, without unset ones.

    Example:
        >>> from langchain_localkit.chat_models.openai_compat import ChatOpenAICompatible
        >>> chat_kwargs(ChatOpenAICompatible, {"n_ctx": 4096, "max_tokens": 64, "seed": -1})
        {'max_tokens': 64}
    """
    fields = getattr(cls, "model_fields", {})
    kwargs: dict[str, Any] = {}
    for option, value in options.items():
        if value is None or (option == "seed" and value < 0):
            continue
        for name in _OPTION_NAMES.get(option, (option,)):
            if name in fields:
                kwargs[name] = value
                break
    return kwargs


def looks_like_model(argument: str) -> bool:
    """Whether an argument looks like a model rather than words.

    It does when it has no spaces, and a `:` (a provider string or an Ollama tag) or a
    `.gguf` ending.

    Example:
        >>> looks_like_model("llama3.1:8b"), looks_like_model("Hello there"), looks_like_model("hi")
        (True, False, False)
    """
    return not re.search(r"\s", argument) and (
        ":" in argument or argument.lower().endswith(".gguf")
    )


def _is_path(argument: str) -> bool:
    return os.sep in argument or "/" in argument or argument.startswith(("~", "."))


def resolve_model(
    argument: str,
    *,
    dirs: Sequence[str | Path] = (),
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> ResolvedModel:
    """What a model argument names (see the module docstring for the order).

    Args:
        argument: A provider string, a GGUF path, or a name `localkit models` lists.
        dirs: More directories to find names in (`--dir`).
        home: The home directory the model stores are under (default: the user's).
        environ: The environment (default: `os.environ`).

    Raises:
        CommandError: A provider string that does not parse, or a model that cannot be used.
        ModelNotFoundError: No model has that name (the message lists the closest ones).
    """
    from langchain_localkit.providers import parse_model, provider_prefix

    text = argument.strip()
    if provider_prefix(text) is not None:
        try:
            spec = parse_model(text)
        except ValueError as e:
            raise CommandError(str(e)) from e
        if spec.provider == "llamacpp" and spec.model:
            return ResolvedModel(argument, path=Path(spec.model).expanduser())
        return ResolvedModel(argument, spec=spec)
    path = Path(text).expanduser()
    if path.exists() or _is_path(text):
        return ResolvedModel(argument, path=path)
    from langchain_localkit.discovery import find_model

    try:
        entry = find_model(text, dirs=tuple(dirs), home=home, environ=environ)
    except ModelNotFoundError as e:
        if ":" not in text:
            raise
        hint = f" For a model Ollama serves, write 'ollama:{text}'."
        raise ModelNotFoundError(str(e) + hint, e.path) from e
    if entry.path is None:
        raise CommandError(f"{entry.name} ({entry.source}) has no model file to run.")
    return ResolvedModel(argument, path=entry.path, entry=entry)


def find_model_argument(
    argument: str,
    *,
    dirs: Sequence[str | Path] = (),
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> ResolvedModel | None:
    """The model an argument names, if it clearly names one; else None.

    It clearly does when it is a provider string, an existing file, or a discovered name;
    otherwise it is probably words (`localkit chat hello`).

    Raises:
        CommandError: It names a model that cannot be used, or a bad provider string.
    """
    from langchain_localkit.providers import provider_prefix

    text = argument.strip()
    if provider_prefix(text) is not None or Path(text).expanduser().is_file():
        return resolve_model(text, dirs=dirs, home=home, environ=environ)
    if not text or re.search(r"\s", text) or _is_path(text):
        return None
    try:
        return resolve_model(text, dirs=dirs, home=home, environ=environ)
    except CommandError:
        raise
    except LocalKitError:
        return None


__all__ = [
    "ResolvedModel",
    "chat_kwargs",
    "find_model_argument",
    "looks_like_model",
    "resolve_model",
]

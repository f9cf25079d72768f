"""What every engine declares about itself, and what the in-process engines share.

An engine runs one model in one runtime; the faces (LangChain classes) ask it what it can do
through class-level flags instead of testing its type. The in-process engines (llama.cpp,
GPT4All) also share their shape: load options, a GGUF header read once (`info()`), and a model
loaded on first use through the model cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from langchain_localkit._core.gguf import GGUFInfo
from langchain_localkit._core.models import LoadedModel, ModelHandle


class Engine:
    """The capabilities an engine declares.

    Attributes:
        supports_grammar: Decoding can be constrained by a GBNF grammar.
        supports_embeddings: The engine itself embeds text (`embed()`).
        in_process: The runtime runs in this process (False: a server, over HTTP).
    """

    supports_grammar: ClassVar[bool] = False
    supports_embeddings: ClassVar[bool] = False
    in_process: ClassVar[bool] = False


class LoadOptions(Protocol):
    """What an in-process engine's load options provide."""

    @property
    def model_path(self) -> str:
        """The model file."""
        ...

    def cache_key(self) -> tuple[Any, ...]:
        """What makes two loads the same (equal keys share one loaded model)."""
        ...


OptionsT = TypeVar("OptionsT", bound=LoadOptions)


class InProcessEngine(Engine, Generic[OptionsT]):
    """A GGUF file in a runtime in this process, loaded on first use and shared.

    Subclasses name their runtime's cache (`_new_handle`), read the header (`_read_info`) and
    say how to load (`_prepare_load`); loading once, sharing through the cache and reporting
    the load time once happen here.

    Args:
        options: Load options; equal options share one loaded model.
    """

    in_process: ClassVar[bool] = True
    _new_handle: ClassVar[staticmethod[[], ModelHandle[Any]]]
    """Makes this engine's reference into its runtime's model cache."""

    def __init__(self, options: OptionsT) -> None:
        self.options = options
        self._handle = self._new_handle()
        self._info: GGUFInfo | None = None

    def info(self) -> GGUFInfo:
        """The GGUF header, read once, without loading the model.

        Raises:
            ModelNotFoundError, ModelIsDirectoryError, InvalidModelFileError: Bad file.
            UnsupportedArchitectureError: The runtime cannot load this architecture.
        """
        if self._info is None:
            self._info = self._read_info()
        return self._info

    @property
    def model_name(self) -> str:
        """The model's file name."""
        return Path(self.options.model_path).name

    @property
    def is_loaded(self) -> bool:
        """Whether this engine holds a loaded model."""
        return self._handle.held

    def load(self) -> tuple[LoadedModel[Any], bool]:
        """Load the model, or take it from the cache.

        Returns:
            The shared entry, and whether this call loaded it.

        Raises:
            ModelNotFoundError, ModelIsDirectoryError, InvalidModelFileError: Bad file.
            UnsupportedArchitectureError: The runtime cannot load this architecture.
            ModelLoadError: The runtime refused a file that looked valid.
        """
        return self._handle.get(self._prepare_load)

    def unload(self) -> None:
        """Drop this engine's reference; the model is freed when no other wrapper uses it."""
        self._handle.drop()

    def _take_load_ms(self) -> float | None:
        """The load time, once: the first call after this engine loaded the model reports it."""
        return self._handle.take_load_ms()

    def _read_info(self) -> GGUFInfo:
        raise NotImplementedError

    def _prepare_load(self) -> tuple[Hashable, Callable[[], Any]]:
        """The cache key and the loader of this engine's model (called only when not held)."""
        raise NotImplementedError


class CallSettings:
    """Base of an engine's per-call settings (a frozen dataclass): built from a face's fields."""

    @classmethod
    def resolve(cls, defaults: object, overrides: Mapping[str, Any], **fixed: Any) -> Self:
        """Settings whose every field comes from `fixed`, else `overrides`, else `defaults`.

        A field none of them has keeps its default; names in `overrides` that are not fields
        are ignored (a call's other options).

        Args:
            defaults: An object whose attributes of the same names are the defaults (a face).
            overrides: Per-call options (a call's keyword arguments).
            **fixed: Values the caller computed itself.

        Raises:
            TypeError: A name in `fixed` is not a field.

        Example:
            >>> from langchain_localkit.engines.gpt4all import GPT4AllSampling
            >>> class Face:
            ...     temp, top_k = 0.2, 10
            >>> GPT4AllSampling.resolve(Face(), {"top_k": 5}, max_tokens=8).top_k
            5
        """
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        unknown = set(fixed) - set(names)
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name in names:
            if name in fixed:
                values[name] = fixed[name]
            elif name in overrides:
                values[name] = overrides[name]
            elif hasattr(defaults, name):
                values[name] = getattr(defaults, name)
        return cls(**values)


__all__ = ["CallSettings", "Engine", "InProcessEngine", "LoadOptions"]

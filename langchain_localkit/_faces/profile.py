"""`profile` for every chat face: what LangChain's agents and middleware read about a model.

Construction never waits on a network: `_resolve_model_profile` (LangChain's hook, called while
the model is built) gives what the face declares, and what a model file's header says (read in
milliseconds, no load). A server's facts come on first use, from what the engine asks the
server anyway, or on request (`resolve_profile()`). Facts are cached per process (a file by
path, size and mtime; a server by address and model), so a second construction has them.

A profile resolved here replaces only one resolved here: a profile the user passed (or set)
is never overwritten.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.language_models import ModelProfile
from pydantic import BaseModel, PrivateAttr

from langchain_localkit._faces.profile_build import (
    Faculties,
    GGUFFacts,
    gguf_profile,
    model_profile,
    thinking_of,
)

logger = logging.getLogger("langchain_localkit.profile")

_FACTS: dict[Hashable, Any] = {}
_LOCK = threading.Lock()


def cached_facts(key: Hashable | None) -> Any | None:
    """The facts learned for `key` in this process, or None."""
    if key is None:
        return None
    with _LOCK:
        return _FACTS.get(key)


def remember_facts(key: Hashable | None, facts: Any) -> None:
    """Keep `facts` for `key` (the next model built with this key starts with them)."""
    if key is not None and facts is not None:
        with _LOCK:
            _FACTS[key] = facts


def clear_profile_cache() -> None:
    """Forget every fact learned in this process (the next construction starts declared)."""
    with _LOCK:
        _FACTS.clear()


class ModelProfiles(BaseModel):
    """The `profile` machinery of a chat face: declared, learned, cached, resolved on request.

    Hooks:
        `_profile_key()`: what identifies the model's facts (None: not cached).
        `_profile_facts()` / `_aprofile_facts()`: the facts, asked now (may do I/O; raises
            the typed errors of the runtime).
        `_build_profile(facts)`: the profile from the facts, or (None) from the face's
            declarations alone; no I/O.
        `_profile_reads_file`: the facts come from a local file, cheap enough to read while
            the model is built.
    """

    _auto_profile: ModelProfile | None = PrivateAttr(default=None)
    _profile_learned: bool = PrivateAttr(default=False)

    _profile_reads_file: ClassVar[bool] = False

    if TYPE_CHECKING:
        profile: ModelProfile | None = None

    def _profile_key(self) -> Hashable | None:
        return None

    def _profile_facts(self) -> Any:
        raise NotImplementedError

    async def _aprofile_facts(self) -> Any:
        return await asyncio.to_thread(self._profile_facts)

    def _build_profile(self, facts: Any | None) -> ModelProfile:
        raise NotImplementedError

    def _resolve_model_profile(self) -> ModelProfile | None:
        facts = None
        try:
            key = self._profile_key()
            facts = cached_facts(key)
            if facts is None and self._profile_reads_file:
                facts = self._profile_facts()
                remember_facts(key, facts)
        except Exception:  # a profile never stops a model from being built
            logger.debug("No profile facts for %s yet", type(self).__name__, exc_info=True)
        self._profile_learned = facts is not None
        built = self._build_profile(facts)
        self._auto_profile = built
        return built

    def resolve_profile(self) -> ModelProfile:
        """Ask the model (its file, or its server now) what it is, and update `profile`.

        `profile` is replaced only when it was resolved by the package; a profile you passed
        stays, and the resolved one is returned.

        Returns:
            The resolved profile.

        Raises:
            ServerUnavailableError, ServerError, ModelNotPulledError, ModelNotFoundError, ...:
                The runtime's typed errors, when the server or the file cannot answer.

        Example:
            >>> chat = ChatLlamafile()  # doctest: +SKIP
            >>> chat.resolve_profile()["max_input_tokens"]  # doctest: +SKIP
            4096
        """
        return self._adopt(self._profile_facts())

    async def aresolve_profile(self) -> ModelProfile:
        """The async `resolve_profile`.

        Example:
            >>> profile = await chat.aresolve_profile()  # doctest: +SKIP
        """
        return self._adopt(await self._aprofile_facts())

    def _adopt(self, facts: Any) -> ModelProfile:
        remember_facts(self._profile_key(), facts)
        self._profile_learned = True
        built = self._build_profile(facts)
        if self._auto_profile is not None and self.profile is self._auto_profile:
            self.profile = self._auto_profile = built
        return built

    def _learn_profile(self, facts: Callable[[], Any]) -> None:
        """On first use: the full profile from `facts()` (None: not yet); never raises."""
        if self._profile_learned:
            return
        try:
            found = facts()
            if found is not None:
                self._adopt(found)
        except Exception:
            logger.debug("Could not resolve the profile of %s", type(self).__name__, exc_info=True)

    async def _alearn_profile(self, facts: Callable[[], Awaitable[Any]]) -> None:
        """The async `_learn_profile`."""
        if self._profile_learned:
            return
        try:
            found = await facts()
            if found is not None:
                self._adopt(found)
        except Exception:
            logger.debug("Could not resolve the profile of %s", type(self).__name__, exc_info=True)


class GGUFProfiles(ModelProfiles):
    """The profile of a GGUF file run in process, from its header (no load, milliseconds).

    The face says what it can do (`_profile_faculties`), where the file is and the context it
    will load it with; a `chat_template` field overrides the file's thought markers.
    """

    _profile_reads_file: ClassVar[bool] = True
    _profile_faculties: ClassVar[Faculties] = Faculties()

    def _profile_path(self) -> str:
        raise NotImplementedError

    def _profile_context(self, trained: int | None) -> int | None:
        """The context window the face loads the model with (`trained`: the file's)."""
        raise NotImplementedError

    def _profile_key(self) -> Hashable | None:
        path = self._profile_path()
        st = os.stat(path)
        return ("gguf", path, st.st_size, st.st_mtime_ns)

    def _profile_facts(self) -> GGUFFacts:
        from langchain_localkit._core.gguf import read_gguf_info
        from langchain_localkit.prompts.capabilities import gguf_capabilities

        info = read_gguf_info(self._profile_path(), check_tensors=False)
        return GGUFFacts(gguf_capabilities(info), info.name or info.path.name)

    def _build_profile(self, facts: GGUFFacts | None) -> ModelProfile:
        thinking = thinking_of(getattr(self, "chat_template", None))
        if facts is None:  # the header could not be read: the declarations alone
            name = Path(self._profile_path()).name
            return model_profile(
                self._profile_faculties, name=name, thinking=thinking, images=False
            )
        context = self._profile_context(facts.capabilities.context_length)
        return gguf_profile(facts, self._profile_faculties, context=context, thinking=thinking)


__all__ = [
    "GGUFProfiles",
    "ModelProfiles",
    "cached_facts",
    "clear_profile_cache",
    "remember_facts",
]

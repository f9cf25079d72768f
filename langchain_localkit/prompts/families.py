"""Model families as data: chat template, special tokens, stop strings, detection hints.

A `ModelFamily` says everything the prompt pack needs to know about one prompt format: its
Jinja chat template (written for Hugging Face-style message dicts), its BOS/EOS strings, the
stop strings that end a reply, the control strings a user must not be able to inject, whether
it has a system role, and the names, architectures and template markers that identify it.

All families live in one registry. The built-in ones cover Llama 2, Llama 3, ChatML (Qwen,
OpenHermes, Dolphin, ...), Gemma, Mistral instruct, Phi-3, Zephyr/TinyLlama, Vicuna, Alpaca,
DeepSeek (V3/R1) and DeepSeek Coder; `register_family` adds your own.

The built-in templates are our own, written from each model's published format and shipped as
package data (`chat_templates/*.jinja`, each naming the source it follows). They are rendered by
the same sandboxed Jinja renderer as the untrusted templates found in GGUF files.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from langchain_localkit.prompts._builtin_families import BUILTIN_FAMILIES
from langchain_localkit.prompts._family import ModelFamily, SystemFold


class FamilyRegistry:
    """A thread-safe registry of model families, looked up by name or alias.

    Iteration gives the detection order: families you registered (newest first), then the
    built-in ones in their definition order.
    """

    def __init__(self) -> None:
        self._families: dict[str, ModelFamily] = {}
        self._aliases: dict[str, str] = {}
        self._user_order: list[str] = []
        self._builtin_order: list[str] = []
        self._lock = threading.RLock()

    def register(
        self, family: ModelFamily, *, overwrite: bool = False, builtin: bool = False
    ) -> ModelFamily:
        """Add a family; refuse a name or alias that is already taken unless `overwrite`.

        With `overwrite=True` a family of the same name is replaced; aliases still may not
        collide with another family's names.

        Raises:
            ValueError: The name or an alias is taken.
            TemplateError: The family's template does not compile.
        """
        if not isinstance(family, ModelFamily):
            raise TypeError(f"register_family() takes a ModelFamily, not {type(family).__name__}")
        if not builtin:  # built-in templates are compiled by the tests, not at import time
            from langchain_localkit.prompts.sandbox import compile_template

            compile_template(family.template)
        with self._lock:
            existing = self._families.get(family.name)
            if existing is not None and not overwrite:
                raise ValueError(
                    f"A model family named {family.name!r} is already registered. "
                    "Use `overwrite=True` to replace it."
                )
            for key in (family.name, *family.aliases):
                owner = self._aliases.get(key)
                if owner is not None and owner != family.name:
                    raise ValueError(
                        f"{key!r} already names the model family {owner!r}; "
                        f"pick another name or alias for {family.name!r}."
                    )
            if existing is not None:
                self._drop(existing)
            self._families[family.name] = family
            for key in (family.name, *family.aliases):
                self._aliases[key] = family.name
            if builtin:
                self._builtin_order.append(family.name)
            else:
                self._user_order.insert(0, family.name)
        return family

    def _drop(self, family: ModelFamily) -> None:
        del self._families[family.name]
        for key in (family.name, *family.aliases):
            if self._aliases.get(key) == family.name:
                del self._aliases[key]
        for order in (self._user_order, self._builtin_order):
            if family.name in order:
                order.remove(family.name)

    def unregister(self, name: str) -> ModelFamily:
        """Remove a family (by name or alias) and return it.

        Raises:
            ValueError: No such family.
        """
        with self._lock:
            family = self.get(name)
            self._drop(family)
            return family

    def find(self, name: str) -> ModelFamily | None:
        """The family called `name` (or with that alias), or None."""
        if not isinstance(name, str):
            return None
        with self._lock:
            canonical = self._aliases.get(name.strip().lower())
            return self._families.get(canonical) if canonical else None

    def get(self, name: str) -> ModelFamily:
        """The family called `name` (or with that alias).

        Raises:
            ValueError: No such family (the message lists the known ones).
        """
        family = self.find(name)
        if family is None:
            raise ValueError(
                f"Unknown model family {name!r}. Known families: {', '.join(self.names())}. "
                "Register your own with `register_family()`."
            )
        return family

    def names(self) -> tuple[str, ...]:
        """Canonical names, in detection order."""
        with self._lock:
            return (*self._user_order, *self._builtin_order)

    def is_builtin(self, name: str) -> bool:
        """Whether `name` is one of the families shipped with the package."""
        family = self.find(name)
        with self._lock:
            return family is not None and family.name in self._builtin_order

    def __iter__(self) -> Iterator[ModelFamily]:
        with self._lock:
            families = [self._families[n] for n in (*self._user_order, *self._builtin_order)]
        return iter(families)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._families)


FAMILIES = FamilyRegistry()
"""The registry every function of the prompt pack uses."""


def register_family(family: ModelFamily, *, overwrite: bool = False) -> ModelFamily:
    """Register a model family so that detection, rendering and selectors know it.

    Your families are checked before the built-in ones during detection.

    Args:
        family: The family.
        overwrite: Replace a family of the same name (a built-in one included).

    Returns:
        The registered family.

    Raises:
        ValueError: Its name or an alias is already registered (and not `overwrite`).
        TemplateError: Its template does not compile.

    Example:
        >>> from langchain_localkit.prompts import ModelFamily, register_family
        >>> register_family(ModelFamily(name="echo", template="{{ messages[-1].content }}"))
        ... # doctest: +SKIP
    """
    return FAMILIES.register(family, overwrite=overwrite)


def unregister_family(name: str) -> ModelFamily:
    """Remove a registered family (built-in ones included) and return it.

    Raises:
        ValueError: No family has that name or alias.
    """
    return FAMILIES.unregister(name)


def get_family(name: str | ModelFamily) -> ModelFamily:
    """Look up a family by name or alias (case-insensitive); a `ModelFamily` is returned as is.

    Raises:
        ValueError: Unknown name (the message lists the known families).

    Example:
        >>> from langchain_localkit.prompts import get_family
        >>> get_family("llama-2").name
        'llama2'
        >>> get_family("gemma").stop
        ('<end_of_turn>', '<eos>', '<start_of_turn>')
    """
    if isinstance(name, ModelFamily):
        return name
    return FAMILIES.get(name)


def list_families() -> tuple[ModelFamily, ...]:
    """Every registered family, in detection order (yours first, then the built-in ones).

    Example:
        >>> from langchain_localkit.prompts import list_families
        >>> "gemma" in [f.name for f in list_families()]
        True
    """
    return tuple(FAMILIES)


for _family in BUILTIN_FAMILIES:
    FAMILIES.register(_family, builtin=True)
del _family

__all__ = [
    "BUILTIN_FAMILIES",
    "FAMILIES",
    "FamilyRegistry",
    "ModelFamily",
    "SystemFold",
    "get_family",
    "list_families",
    "register_family",
    "unregister_family",
]

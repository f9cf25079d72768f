"""`ConfigurableLocalModel`: the chat model of `init_local_model(configurable_fields=...)`.

It holds no model: each call reads the model and its arguments from the call's config, builds
that model through `providers` (once per distinct set of values), replays the recorded
`bind_tools` / `with_structured_output` on it, and delegates the call.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

from langchain_core.language_models import LanguageModelInput
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import get_config_list, merge_configs

from langchain_localkit.providers import ModelSpec, parse_model, provider_prefix

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

logger = logging.getLogger(__name__)


def _argument_names(cls: type[Any]) -> frozenset[str]:
    """The constructor arguments a pydantic model class declares (field names and aliases)."""
    names: set[str] = set()
    for name, field in getattr(cls, "model_fields", {}).items():
        names.add(name)
        if field.alias:
            names.add(field.alias)
        choices = getattr(field.validation_alias, "choices", [field.validation_alias])
        names.update(c for c in choices if isinstance(c, str))
    return frozenset(names)


def _frozen(value: Any) -> Hashable:
    """A hashable image of a config value (TypeError for a value with none)."""
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((repr(k), _frozen(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("seq", tuple(_frozen(v) for v in value))
    if isinstance(value, set | frozenset):
        return ("set", frozenset(_frozen(v) for v in value))
    hash(value)
    return (type(value).__qualname__, value)


class _LRU:
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int = 16) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable | None, make: Callable[[], Any]) -> Any:
        if key is None:
            return make()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            value = self._items.setdefault(key, value)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


_Queued: TypeAlias = tuple[str, tuple[Any, ...], dict[str, Any]]


class ConfigurableLocalModel(Runnable[LanguageModelInput, Any]):
    """A chat model chosen per call from the config (made by `init_local_model`).

    Each call reads the configurable fields from `config["configurable"]` (keys prefixed with
    the `config_prefix`), merges them over the defaults given to `init_local_model`, and
    builds the model (once per distinct set of values; the last 16 are kept).
    `bind_tools` and `with_structured_output` are recorded and applied to each model built.

    Example:
        .. code-block:: python

            chat = init_local_model(configurable_fields="any", temperature=0)
            chat = chat.bind_tools([get_weather])
            chat.invoke("Weather in Paris?", config={"configurable": {"model": "ollama:qwen3:4b"}})
            chat.invoke(
                "Weather in Paris?", config={"configurable": {"model": "lmstudio:qwen3-4b"}}
            )
    """

    def __init__(
        self,
        *,
        defaults: Mapping[str, Any],
        fields: Literal["any"] | tuple[str, ...],
        prefix: str = "",
        queued: tuple[_Queued, ...] = (),
        config: RunnableConfig | None = None,
        models: _LRU | None = None,
    ) -> None:
        self._defaults = dict(defaults)
        self._fields = fields
        self._prefix = prefix
        self._queued = queued
        self._config: RunnableConfig = config or {}
        self._models = models if models is not None else _LRU()
        self._finished = _LRU()

    def _copy(self, **changes: Any) -> ConfigurableLocalModel:
        args: dict[str, Any] = {
            "defaults": self._defaults,
            "fields": self._fields,
            "prefix": self._prefix,
            "queued": self._queued,
            "config": self._config,
            "models": self._models,
        }
        return ConfigurableLocalModel(**{**args, **changes})

    def _configured(self, config: RunnableConfig) -> dict[str, Any]:
        """The fields this config sets (prefix removed), before checking them against a class."""
        chosen: dict[str, Any] = {}
        for key, value in (config.get("configurable") or {}).items():
            if not key.startswith(self._prefix) or key.startswith("__"):
                continue
            name = key[len(self._prefix) :]
            if self._fields == "any" or name in self._fields:
                chosen[name] = value
        return chosen

    def _resolve(self, config: RunnableConfig) -> tuple[ModelSpec, dict[str, Any]]:
        chosen = self._configured(config)
        params = dict(self._defaults)
        # A model string naming its provider overrides the default provider.
        if "model_provider" not in chosen and provider_prefix(str(chosen.get("model") or "")):
            params.pop("model_provider", None)
        params.update(chosen)
        model, provider = params.pop("model", None), params.pop("model_provider", None)
        if model is None and provider is None:
            raise ValueError(
                f"No model for this call: set it in the config, e.g. config={{'configurable': "
                f"{{'{self._prefix}model': 'ollama:llama3.1:8b'}}}}."
            )
        spec = parse_model(model, provider)
        if self._fields == "any":
            accepted = _argument_names(spec.info.load())
            ignored = {k for k in chosen if k not in accepted} - {"model", "model_provider"}
            if ignored:
                logger.debug(
                    "Config keys ignored (no %s argument): %s", spec.info.class_name, ignored
                )
                params = {k: v for k, v in params.items() if k not in ignored}
        return spec, params

    def get_model(self, config: RunnableConfig | None = None) -> Runnable[LanguageModelInput, Any]:
        """The model a call with this config runs (with the recorded `bind_tools` etc.).

        Args:
            config: The call's config (merged over the one from `with_config`).

        Raises:
            ValueError: The config gives no model, or an invalid one.
        """
        return self._model_for(merge_configs(self._config, config))

    def _model_for(self, config: RunnableConfig) -> Runnable[LanguageModelInput, Any]:
        spec, params = self._resolve(config)
        try:
            key: Hashable | None = _frozen((spec, params))
        except TypeError:
            key = None

        def finish() -> Runnable[LanguageModelInput, Any]:
            model: Runnable[LanguageModelInput, Any] = self._models.get(
                key, lambda: spec.build(params)
            )
            for name, args, kwargs in self._queued:
                model = getattr(model, name)(*args, **kwargs)
            return model

        return cast("Runnable[LanguageModelInput, Any]", self._finished.get(key, finish))

    def _queue(self, name: str, *args: Any, **kwargs: Any) -> ConfigurableLocalModel:
        return self._copy(queued=(*self._queued, (name, args, kwargs)))

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        **kwargs: Any,
    ) -> ConfigurableLocalModel:
        """Bind tools to whichever model a call builds (see `BaseChatModel.bind_tools`)."""
        return self._queue("bind_tools", tools, **kwargs)

    def with_structured_output(
        self, schema: dict[str, Any] | type, **kwargs: Any
    ) -> ConfigurableLocalModel:
        """Structured output from whichever model a call builds (see the chat model's)."""
        return self._queue("with_structured_output", schema, **kwargs)

    def with_config(
        self, config: RunnableConfig | None = None, **kwargs: Any
    ) -> ConfigurableLocalModel:
        """A copy whose calls merge `config` (and `kwargs`) under their own config."""
        extra = cast("RunnableConfig", {**(config or {}), **kwargs})
        return self._copy(config=merge_configs(self._config, extra))

    @property
    def InputType(self) -> Any:
        """What a chat model takes: a string, a prompt value or messages."""
        from langchain_core.messages import AnyMessage
        from langchain_core.prompt_values import ChatPromptValueConcrete, StringPromptValue

        return str | StringPromptValue | ChatPromptValueConcrete | list[AnyMessage]

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        """Build the model for `config` and invoke it."""
        config = merge_configs(self._config, config)
        return self._model_for(config).invoke(input, config, **kwargs)

    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        """Build the model for `config` and invoke it asynchronously."""
        config = merge_configs(self._config, config)
        return await self._model_for(config).ainvoke(input, config, **kwargs)

    def stream(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any | None
    ) -> Iterator[Any]:
        """Build the model for `config` and stream from it."""
        config = merge_configs(self._config, config)
        yield from self._model_for(config).stream(input, config, **kwargs)

    async def astream(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any | None
    ) -> AsyncIterator[Any]:
        """Build the model for `config` and stream from it asynchronously."""
        config = merge_configs(self._config, config)
        async for chunk in self._model_for(config).astream(input, config, **kwargs):
            yield chunk

    def _one_model(
        self, n: int, config: RunnableConfig | list[RunnableConfig] | None
    ) -> tuple[Runnable[LanguageModelInput, Any] | None, list[RunnableConfig]]:
        """The model of a batch when every config gives the same one, and the merged configs."""
        configs = [merge_configs(self._config, c) for c in get_config_list(config, n)]
        try:
            models = {id(m): m for m in map(self._model_for, configs)}
        except Exception:  # each input meets its error again in `invoke`
            return None, configs
        return (next(iter(models.values())) if len(models) == 1 else None), configs

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any | None,
    ) -> list[Any]:
        """Run the inputs through their configs' models (one model's own batch when shared)."""
        if not inputs:
            return []
        model, configs = self._one_model(len(inputs), config)
        if model is None:  # `invoke` per input, which merges `with_config`'s config itself
            return super().batch(inputs, config, return_exceptions=return_exceptions, **kwargs)
        return model.batch(inputs, configs, return_exceptions=return_exceptions, **kwargs)

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any | None,
    ) -> list[Any]:
        """`batch`, asynchronously."""
        if not inputs:
            return []
        model, configs = self._one_model(len(inputs), config)
        if model is None:
            return await super().abatch(
                inputs, config, return_exceptions=return_exceptions, **kwargs
            )
        return await model.abatch(inputs, configs, return_exceptions=return_exceptions, **kwargs)

    def __repr__(self) -> str:
        fields = self._fields if self._fields == "any" else list(self._fields)
        return (
            f"ConfigurableLocalModel(defaults={self._defaults!r}, configurable_fields="
            f"{fields!r}, config_prefix={self._prefix.rstrip('_')!r})"
        )


__all__ = ["ConfigurableLocalModel"]

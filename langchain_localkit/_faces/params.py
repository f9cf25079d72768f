"""What every generating face declares and shares: runtime, capabilities, call options, tracing."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Self

from langchain_core.language_models import BaseChatModel, LangSmithParams
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from langchain_localkit._compat import ignored_call_options, unknown_call_options
from langchain_localkit._core.errors import InvalidRequestError
from langchain_localkit._core.langchain import migrate_callback_manager
from langchain_localkit._core.reasoning import Reasoning, check_reasoning

CHAT_OPTIONS = frozenset(
    {"tools", "tool_choice", "parallel_tool_calls", "response_format", "model"}
)
"""The per-call options every chat face takes besides its sampling options."""
REASONING_OPTION = "reasoning"
"""The per-call option every generating face takes: the `reasoning` switch for one call."""


class VerboseTiming(BaseModel):
    """`verbose=True` attaches a printing `TimingCallbackHandler` (llama.cpp's report layout)."""

    @model_validator(mode="after")
    def _attach_verbose_timing(self) -> Self:
        from langchain_localkit.callbacks.timing import attach_verbose_timing

        attach_verbose_timing(self)
        return self


class GenerationParams(VerboseTiming):
    """The declarations and shared behaviour of a generating face (LLM or chat).

    A runtime's parameter class inherits it and sets the class-level declarations; the
    skeleton (`LocalLLM`, `LocalChatModel`), the prompt selectors and the recipes read them
    instead of testing class names.
    """

    _localkit_runtime: ClassVar[str] = ""
    """The runtime ("llamacpp", "gpt4all", "llamafile", "ollama"): `ls_provider`, the
    `model_provider` of chat replies, and what `is_llama_cpp(...)` and friends test."""
    _community_name: ClassVar[str] = ""
    """The langchain-community class whose arguments and call options this face accepts."""
    _temperature_field: ClassVar[str] = "temperature"
    """The field (and call option) holding the sampling temperature (GPT4All: `temp`)."""
    supports_grammar: ClassVar[bool] = False
    """Whether a call takes a llama.cpp GBNF `grammar` (and tools are grammar-constrained)."""

    _llm_type_name: ClassVar[str] = ""
    """The face's `_llm_type` (LangChain's serialization and tracing name)."""
    _identifying_fields: ClassVar[str] = ""
    """The fields that identify a configured model (`_identifying_params`), space-separated."""
    _call_options: ClassVar[frozenset[str]] = frozenset()
    """The sampling options a call may pass (`invoke(..., temperature=0)`)."""

    reasoning: Reasoning = None
    """Thinking models (Qwen3, DeepSeek-R1, gpt-oss, ...): None leaves the output as the model
    writes it; True keeps the thoughts apart from the answer (chat: in
    `additional_kwargs["reasoning_content"]` and `reasoning` content blocks; text: in
    `generation_info["reasoning_content"]`); False asks the model not to think where its
    template or server allows, and strips the thoughts it writes anyway; "low", "medium" or
    "high" sets the effort of models that have levels (gpt-oss) and keeps the thoughts apart.
    Also a call option: `invoke(..., reasoning=False)`."""

    @field_validator("reasoning", mode="before")
    @classmethod
    def _check_reasoning(cls, value: Any) -> Reasoning:
        return check_reasoning(value)

    def _reasoning_of(self, options: dict[str, Any]) -> Reasoning:
        """The call's `reasoning` (taken out of `options`), else the field's."""
        if REASONING_OPTION in options:
            return check_reasoning(options.pop(REASONING_OPTION))
        return self.reasoning

    @property
    def _llm_type(self) -> str:
        return self._llm_type_name

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._identifying_fields.split()}

    @classmethod
    def _is_chat(cls) -> bool:
        return issubclass(cls, BaseChatModel)

    @classmethod
    def call_options(cls) -> frozenset[str]:
        """The per-call options this face takes (`invoke(..., **options)`), besides `stop`."""
        chat = CHAT_OPTIONS if cls._is_chat() else frozenset()
        return cls._call_options | chat | {REASONING_OPTION}

    def _check_call_options(self, kwargs: Mapping[str, Any]) -> None:
        """Refuse options neither declared (`_call_options`) nor ignored for community's sake.

        The chat options (`tools`, ...) are parsed out before this check.

        Raises:
            TypeError: With community's replacement for a removed option, or the closest name.
            InvalidRequestError: An option's value is one its field refuses at construction
                (`temperature=-1`, `seed="abc"`, ...), or NaN.
        """
        community = self._community_name or type(self).__name__
        unknown = set(kwargs) - self._call_options - ignored_call_options(community)
        unknown.discard(REASONING_OPTION)
        if unknown:
            raise TypeError(
                unknown_call_options(
                    community, unknown, self.call_options(), label=type(self).__name__
                )
            )
        for name, value in kwargs.items():
            if name in self._call_options and name in type(self).model_fields:
                _check_option_value(type(self), name, value)

    def _model_label(self) -> str:
        """The model's name in metadata and traces."""
        raise NotImplementedError

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        field = self._temperature_field
        params = LangSmithParams(
            ls_provider=self._localkit_runtime,
            ls_model_name=kwargs.get("model") or self._model_label(),
            ls_model_type="chat" if self._is_chat() else "llm",
            ls_temperature=kwargs.get(field, getattr(self, field)),
        )
        default = getattr(self, "max_tokens", None)
        max_tokens = kwargs.get("max_tokens", kwargs.get("n_predict", default))
        if max_tokens and max_tokens > 0:
            params["ls_max_tokens"] = max_tokens
        default_stop = getattr(self, "stop", None)
        if stop or default_stop:
            params["ls_stop"] = list(stop or default_stop or [])
        return params


@functools.cache
def _option_adapter(cls: type[BaseModel], name: str) -> TypeAdapter[Any] | None:
    """A validator of field `name`'s type and bounds (None when pydantic cannot build one)."""
    field = cls.model_fields[name]
    kind: Any = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    try:
        return TypeAdapter(kind, config=ConfigDict(arbitrary_types_allowed=True))
    except Exception:
        return None


def _check_option_value(cls: type[BaseModel], name: str, value: Any) -> None:
    """Refuse a call option's value that the field of the same name would refuse, or NaN.

    Raises:
        InvalidRequestError: Naming the option, the value, what is wrong and the field's rule.
    """
    if isinstance(value, float) and math.isnan(value):
        problem = "NaN is not a number a sampler can use"
    else:
        adapter = _option_adapter(cls, name)
        if adapter is None:
            return
        try:
            adapter.validate_python(value)
        except ValidationError as e:
            problem = "; ".join(err["msg"] for err in e.errors()) or str(e)
        else:
            return
    raise InvalidRequestError(
        f"{cls.__name__}: the call option {name}={value!r} is invalid ({problem}). Pass a "
        f"value that `{cls.__name__}({name}=...)` accepts, or leave it out to use the "
        "model's own."
    )


class HttpConnection(BaseModel):
    """How an HTTP face talks to its server (the address is the face's own field).

    The face makes its engine on first use (`engine`, from `transport_options()`) and keeps
    it in `_engine`; `close`/`aclose` close its pooled connections.
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    request_timeout: float | None = Field(
        default=600.0, validation_alias=AliasChoices("request_timeout", "timeout")
    )
    """Seconds to wait for an answer, or for the next part of a streamed answer; None waits
    forever. (`timeout=` is accepted too.)"""
    connect_timeout: float = Field(default=5.0, gt=0)
    """Seconds to wait for the connection; nothing listening fails at once."""
    load_timeout: float = Field(default=120.0, ge=0)
    """Seconds to wait for a server that is still loading its model (HTTP 503)."""
    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("api_key", "openai_api_key")
    )
    """The server's API key (`--api-key`), sent as a bearer token. Never read from the
    environment (a local server must not receive your OpenAI key)."""
    headers: dict[str, str] | None = Field(
        default=None, validation_alias=AliasChoices("headers", "default_headers")
    )
    """More HTTP headers for every request."""
    client_kwargs: dict[str, Any] = Field(default_factory=dict)
    """More arguments for the httpx clients (e.g. `transport=`, `verify=`)."""
    async_client_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Arguments for the async httpx client only."""

    @model_validator(mode="before")
    @classmethod
    def _accept_callback_manager(cls, values: Any) -> Any:
        return migrate_callback_manager(values)

    def transport_options(self) -> dict[str, Any]:
        """These settings as the engines take them (`HttpTransport`'s arguments)."""
        return {
            "timeout": self.request_timeout,
            "connect_timeout": self.connect_timeout,
            "load_timeout": self.load_timeout,
            "api_key": self.api_key.get_secret_value() if self.api_key else None,
            "headers": self.headers,
            "client_kwargs": self.client_kwargs,
            "async_client_kwargs": self.async_client_kwargs,
        }

    def close(self) -> None:
        """Close the pooled connections (they reopen on the next call)."""
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.close()

    async def aclose(self) -> None:
        """Close the pooled connections of the running event loop and the sync ones."""
        engine = getattr(self, "_engine", None)
        if engine is not None:
            await engine.aclose()


__all__ = [
    "CHAT_OPTIONS",
    "REASONING_OPTION",
    "GenerationParams",
    "HttpConnection",
    "VerboseTiming",
]

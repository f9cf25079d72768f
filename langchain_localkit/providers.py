"""`init_local_model`: any local chat model from one string, like LangChain's `init_chat_model`.

`"ollama:llama3.1:8b"`, `"llamacpp:models/qwen.gguf"`, `"lmstudio:qwen3-4b"`,
`"vllm:Qwen/Qwen3-4B@http://gpu-box:8000"`: the provider before the first `:`, the model after
it, and an optional `@http(s)://host:port[/v1]` at the end for the server's address. The table
`PROVIDERS` says which class each provider builds and what the model part becomes.

With `configurable_fields`, the model is chosen at run time from the call's config
(`{"configurable": {"model": "ollama:qwen3:4b", "temperature": 0.2}}`) and built (once per
distinct config) when the call runs.
"""

from __future__ import annotations

import difflib
import importlib
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from langchain_localkit._core.lazy import lazy_exports

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from langchain_localkit._configurable import ConfigurableLocalModel

_COMPAT_MODULE = "langchain_localkit.chat_models.openai_compat"


@dataclass(frozen=True)
class Provider:
    """How a provider string becomes a chat model.

    Attributes:
        module: The module defining the class (imported only when a model is built).
        class_name: The chat model class.
        model_arg: The constructor argument the model part of the string fills.
        model_required: Whether the class needs a model (a file, a model name).
        url: Whether `@http://...` may follow the model, and how the class takes it:
            "root" (the server's root address; a trailing `/v1` is dropped), "as-is" (passed
            as written), or None (the model runs in-process: no address).
        server: The `server=` preset of `ChatOpenAICompatible` (None for the other classes).
        extra: The package extra that installs what the class needs.
        example: A model string for messages.
    """

    module: str
    class_name: str
    model_arg: str
    model_required: bool
    url: Literal["root", "as-is"] | None
    example: str
    server: str | None = None
    extra: str | None = None

    def load(self) -> type[BaseChatModel]:
        """The chat model class (importing its module: this may load a runtime's bindings)."""
        try:
            module = importlib.import_module(self.module)
        except ImportError as e:
            hint = f" Run `pip install 'langchain-localkit[{self.extra}]'`." if self.extra else ""
            raise ImportError(f"{self.class_name} cannot be imported ({e}).{hint}") from e
        return cast("type[BaseChatModel]", getattr(module, self.class_name))


def _openai_compatible(server: str, example: str) -> Provider:
    return Provider(
        _COMPAT_MODULE,
        "ChatOpenAICompatible",
        "model",
        model_required=False,
        url="as-is",
        example=example,
        server=server,
    )


PROVIDERS: dict[str, Provider] = {
    "llamacpp": Provider(
        "langchain_localkit.chat_models.llamacpp",
        "ChatLlamaCpp",
        "model_path",
        model_required=True,
        url=None,
        example="llamacpp:models/qwen2.5-1.5b-instruct-q4_k_m.gguf",
        extra="llamacpp",
    ),
    "gpt4all": Provider(
        "langchain_localkit.chat_models.gpt4all",
        "ChatGPT4All",
        "model",
        model_required=True,
        url=None,
        example="gpt4all:models/Llama-3.2-1B-Instruct-Q4_0.gguf",
        extra="gpt4all",
    ),
    "llamafile": Provider(
        "langchain_localkit.chat_models.llamafile",
        "ChatLlamafile",
        "model",
        model_required=False,
        url="root",
        example="llamafile:@http://127.0.0.1:8080",
    ),
    "ollama": Provider(
        "langchain_localkit.chat_models.ollama",
        "ChatOllama",
        "model",
        model_required=True,
        url="root",
        example="ollama:llama3.1:8b",
        extra="ollama",
    ),
    "lmstudio": _openai_compatible("lmstudio", "lmstudio:qwen3-4b"),
    "vllm": _openai_compatible("vllm", "vllm:Qwen/Qwen3-4B@http://127.0.0.1:8000"),
    "llama-server": _openai_compatible("llama.cpp", "llama-server:@http://127.0.0.1:8080"),
    "llamacpp-server": _openai_compatible("llama.cpp", "llamacpp-server:"),
    "localai": _openai_compatible("localai", "localai:llama-3.2-1b-instruct"),
    "koboldcpp": _openai_compatible("koboldcpp", "koboldcpp:"),
    "jan": _openai_compatible("jan", "jan:llama3.2-1b-instruct"),
    "mlx": _openai_compatible("mlx", "mlx:mlx-community/Qwen3-4B-4bit"),
    "openai-compatible": _openai_compatible(
        "auto", "openai-compatible:my-model@http://127.0.0.1:9000/v1"
    ),
}
"""Provider name -> how its strings become a chat model (the one table of providers)."""

_ALIASES = {"llama-cpp": "llamacpp", "lm-studio": "lmstudio", "mlx-lm": "mlx"}
_URL = re.compile(r"^(?P<rest>.*)@(?P<url>https?://[^\s@]+)$", re.DOTALL)


def _normalized(provider: str) -> str:
    name = provider.strip().lower().replace("_", "-")
    return _ALIASES.get(name, name)


def provider_prefix(model: str) -> str | None:
    """The provider a model string starts with (`"ollama:qwen3:4b"` -> `"ollama"`), if any.

    Example:
        >>> provider_prefix("LM_Studio:qwen3-4b"), provider_prefix("qwen3:4b")
        ('lmstudio', None)
    """
    prefix, sep, _ = model.partition(":")
    return _normalized(prefix) if sep and _normalized(prefix) in PROVIDERS else None


def _unknown_provider(provider: str, model: str | None = None) -> ValueError:
    close = difflib.get_close_matches(_normalized(provider), PROVIDERS, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    if not close and model and ":" in model:
        hint = f" For an Ollama model tag, write 'ollama:{model}'."
    return ValueError(
        f"Unknown model provider {provider!r}.{hint} Known providers: {', '.join(PROVIDERS)}."
    )


@dataclass(frozen=True)
class ModelSpec:
    """A model string, parsed: which provider, which model, which server.

    Attributes:
        provider: The provider's name (a key of `PROVIDERS`).
        model: The model part (None when the string has none).
        base_url: The server address given after `@` (None: the class's default).
    """

    provider: str
    model: str | None
    base_url: str | None

    @property
    def info(self) -> Provider:
        """The provider's entry in `PROVIDERS`."""
        return PROVIDERS[self.provider]

    def kwargs(self) -> dict[str, Any]:
        """The constructor arguments the string gives.

        Example:
            >>> parse_model("ollama:llama3.1:8b@http://127.0.0.1:11434").kwargs()
            {'model': 'llama3.1:8b', 'base_url': 'http://127.0.0.1:11434'}
            >>> parse_model("lmstudio:qwen3-4b").kwargs()
            {'model': 'qwen3-4b', 'server': 'lmstudio'}
        """
        info = self.info
        args: dict[str, Any] = {}
        if self.model is not None:
            args[info.model_arg] = self.model
        if info.server is not None:
            args["server"] = info.server
        if self.base_url is not None:
            args["base_url"] = self.base_url
        return args

    def build(self, kwargs: Mapping[str, Any] | None = None) -> BaseChatModel:
        """The chat model, with more constructor arguments (`kwargs`).

        Raises:
            ValueError: A keyword contradicts the string, or the provider needs a model.
            ImportError: The provider's runtime is not installed.
        """
        info, args, extra = self.info, self.kwargs(), dict(kwargs or {})
        for name, value in args.items():
            if name in extra and extra[name] != value:
                raise ValueError(
                    f"{name}={extra[name]!r} contradicts the model string, which gives {value!r}."
                )
        args.update(extra)
        if info.model_required and info.model_arg not in args:
            raise ValueError(
                f"{self.provider!r} needs a model: e.g. init_local_model({info.example!r})."
            )
        return info.load()(**args)


def parse_model(model: str | None, model_provider: str | None = None) -> ModelSpec:
    """Parse a model string such as `"ollama:llama3.1:8b@http://127.0.0.1:11434"`.

    The provider is what comes before the first `:` (so Ollama tags keep their own `:`), or
    `model_provider`; without either, a path ending in `.gguf` is a llama.cpp model.

    Args:
        model: `"<provider>:<model>[@<url>]"`, or a model (a path, a name) when
            `model_provider` is given or can be inferred.
        model_provider: The provider, when `model` does not name it.

    Returns:
        The provider, model and server address.

    Raises:
        ValueError: The provider is unknown or cannot be inferred, the string is a llamafile
            executable, or an in-process provider was given an address.

    Example:
        >>> parse_model("ollama:llama3.1:8b")
        ModelSpec(provider='ollama', model='llama3.1:8b', base_url=None)
        >>> parse_model("qwen3-4b", "lmstudio")
        ModelSpec(provider='lmstudio', model='qwen3-4b', base_url=None)
        >>> parse_model("models/tiny.gguf")
        ModelSpec(provider='llamacpp', model='models/tiny.gguf', base_url=None)
    """
    text, base_url = (model or "").strip(), None
    if found := _URL.match(text):
        text, base_url = found["rest"], found["url"]
    if model_provider is not None:
        provider = _normalized(model_provider)
        if provider not in PROVIDERS:
            raise _unknown_provider(model_provider)
        if provider_prefix(text) == provider:
            text = text.partition(":")[2]
    else:
        provider, text = _infer_provider(text, model)
    info = PROVIDERS[provider]
    if text.lower().endswith(".llamafile"):
        raise _llamafile_executable(text)
    if base_url is not None:
        if info.url is None:
            raise ValueError(
                f"{provider!r} runs the model in-process and takes no server address "
                f"({base_url!r}). For a llama.cpp server use 'llama-server:@{base_url}'."
            )
        if info.url == "root":
            base_url = base_url.rstrip("/").removesuffix("/v1")
    return ModelSpec(provider, text or None, base_url)


def _infer_provider(text: str, model: str | None) -> tuple[str, str]:
    if (provider := provider_prefix(text)) is not None:
        return provider, text.partition(":")[2]
    prefix, sep, _ = text.partition(":")
    if text.lower().endswith(".gguf"):
        return "llamacpp", text
    if text.lower().endswith(".llamafile"):
        raise _llamafile_executable(text)
    if sep and len(prefix) > 1:  # (one letter is a Windows drive, not a provider)
        raise _unknown_provider(prefix, text)
    raise ValueError(
        f"Cannot tell the provider of {model!r}: write it as '<provider>:<model>' (e.g. "
        f"'ollama:llama3.1:8b', 'llamacpp:path/to/model.gguf') or pass `model_provider=`. "
        f"Known providers: {', '.join(PROVIDERS)}."
    )


def _llamafile_executable(path: str) -> ValueError:
    return ValueError(
        f"{path!r} is a llamafile executable, which localkit does not run. Start it as a "
        f"server (`./{path.rsplit('/', 1)[-1]} --server --nobrowser`) and use "
        "init_local_model('llamafile:') (or 'llamafile:@http://127.0.0.1:8080')."
    )


@overload
def init_local_model(
    model: str,
    *,
    model_provider: str | None = None,
    configurable_fields: None = None,
    config_prefix: str | None = None,
    **kwargs: Any,
) -> BaseChatModel: ...


@overload
def init_local_model(
    model: str | None = None,
    *,
    model_provider: str | None = None,
    configurable_fields: Literal["any"] | Sequence[str],
    config_prefix: str | None = None,
    **kwargs: Any,
) -> ConfigurableLocalModel: ...


@overload
def init_local_model(
    model: None = None,
    *,
    model_provider: str | None = None,
    configurable_fields: None = None,
    config_prefix: str | None = None,
    **kwargs: Any,
) -> BaseChatModel | ConfigurableLocalModel: ...


def init_local_model(
    model: str | None = None,
    *,
    model_provider: str | None = None,
    configurable_fields: Literal["any"] | Sequence[str] | None = None,
    config_prefix: str | None = None,
    **kwargs: Any,
) -> BaseChatModel | ConfigurableLocalModel:
    """A local chat model from a string such as `"ollama:llama3.1:8b"`, now or at run time.

    Providers (see `PROVIDERS`): "llamacpp" (a `.gguf` path, in-process), "gpt4all" (a
    `.gguf` path, in-process), "llamafile" (a running llamafile or llama.cpp server),
    "ollama" (a model tag), and OpenAI-compatible servers: "lmstudio", "vllm",
    "llama-server" / "llamacpp-server", "localai", "koboldcpp", "jan", "mlx",
    "openai-compatible" (any other). `@http://host:port` after the model gives the server's
    address.

    Args:
        model: `"<provider>:<model>[@<url>]"` (split at the first `:`; `"ollama:qwen3:4b"` is
            model `"qwen3:4b"`), or a model with `model_provider`, or a `.gguf` path.
        model_provider: The provider, when `model` does not start with it.
        configurable_fields: None: build the model now. `"any"`: every constructor argument
            (and `model`, `model_provider`) may be set at run time through
            `config["configurable"]`; keys that are no argument of the chosen class are
            ignored (so LangGraph's `thread_id` does no harm). A list: only these fields.
            Without `model` and `model_provider` (and no fields), `model` and
            `model_provider` are configurable.
        config_prefix: Read the fields from `"<prefix>_<field>"` keys (e.g. `"fast_model"`),
            to configure several models in one config.
        **kwargs: Constructor arguments of the class (e.g. `temperature=0`, `n_ctx=8192`).

    Returns:
        The chat model; with `configurable_fields`, a `ConfigurableLocalModel` that builds it
        when called.

    Raises:
        ValueError: Unknown provider (the closest is suggested), a missing model, a llamafile
            executable, a string and a keyword that disagree.
        ImportError: The provider's runtime is not installed.

    Example:
        .. code-block:: python

            from langchain_localkit import init_local_model

            chat = init_local_model("ollama:llama3.1:8b", temperature=0)
            chat = init_local_model("llamacpp:models/qwen2.5-1.5b-instruct-q4_k_m.gguf")
            chat = init_local_model("qwen3-4b", model_provider="lmstudio")
            chat = init_local_model("vllm:Qwen/Qwen3-4B@http://gpu-box:8000")

            any_model = init_local_model(configurable_fields="any", temperature=0)
            any_model.invoke("Hi", config={"configurable": {"model": "ollama:qwen3:4b"}})
    """
    if isinstance(configurable_fields, str) and configurable_fields != "any":
        raise ValueError(
            f"configurable_fields must be 'any' or a list of fields, not {configurable_fields!r}"
            f" (for one field write [{configurable_fields!r}])."
        )
    if model is None and model_provider is None and configurable_fields is None:
        configurable_fields = ("model", "model_provider")
    if configurable_fields is None:
        if config_prefix:
            warnings.warn(
                f"config_prefix={config_prefix!r} does nothing without configurable_fields.",
                stacklevel=2,
            )
        return parse_model(model, model_provider).build(kwargs)
    fields: Literal["any"] | tuple[str, ...] = (
        "any" if configurable_fields == "any" else tuple(configurable_fields)
    )
    if model is not None or model_provider is not None:
        parse_model(model, model_provider)
    elif fields != "any" and "model" not in fields and "model_provider" not in fields:
        raise ValueError(
            "No model: pass `model=`, or list 'model' in configurable_fields to choose it "
            "at run time."
        )
    defaults = dict(kwargs)
    if model is not None:
        defaults["model"] = model
    if model_provider is not None:
        defaults["model_provider"] = model_provider
    prefix = f"{config_prefix.rstrip('_')}_" if config_prefix else ""
    from langchain_localkit._configurable import ConfigurableLocalModel

    return ConfigurableLocalModel(defaults=defaults, fields=fields, prefix=prefix)


__all__ = [
    "PROVIDERS",
    "ConfigurableLocalModel",
    "ModelSpec",
    "Provider",
    "init_local_model",
    "parse_model",
    "provider_prefix",
]

__getattr__, __dir__ = lazy_exports(
    __name__, {"ConfigurableLocalModel": "langchain_localkit._configurable"}, globals()
)

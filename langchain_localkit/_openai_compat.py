"""What every OpenAI-compatible face shares: the server, the connection, the sampling fields.

`OpenAICompatConnection` (every face, embeddings included) says where the server is, which
kind it is (a preset, or "auto") and how to talk to it; `OpenAICompatParams` adds the sampling
fields and shapes them into the request fields of the server in hand.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import AliasChoices, Field, PrivateAttr, model_validator

from langchain_localkit._core.langchain import merge_stop
from langchain_localkit._faces.params import GenerationParams, HttpConnection
from langchain_localkit.engines.http.servers import LLAMA_CPP_EXTRAS, PRESETS, ServerPreset, preset
from langchain_localkit.engines.openai_compat import OpenAICompatEngine, ServerFacts

_OPENAI_OPTIONS = frozenset(
    {
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "user",
        "reasoning_effort",
        "grammar",
        "repeat_penalty",
        "extra_body",
    }
)
_CALL_OPTIONS = _OPENAI_OPTIONS | frozenset().union(*(p.extra_fields for p in PRESETS.values()))
_CALL_OPTIONS |= LLAMA_CPP_EXTRAS


def put(body: dict[str, Any], path: str, value: Any) -> None:
    """Set a request field, nested when `path` is dotted ("structured_outputs.grammar").

    Example:
        >>> body = {}
        >>> put(body, "structured_outputs.grammar", "root ::= [a]")
        >>> body
        {'structured_outputs': {'grammar': 'root ::= [a]'}}
    """
    *parents, leaf = path.split(".")
    for name in parents:
        child = body.get(name)
        body[name] = dict(child) if isinstance(child, dict) else {}  # a copy: never the caller's
        body = body[name]
    body[leaf] = value


class OpenAICompatConnection(HttpConnection):
    """Where the server is, what kind it is, and how to talk to it (every face has these)."""

    base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("base_url", "openai_api_base", "api_base")
    )
    """The server's address, with or without `/v1` (`http://localhost:1234/v1` as given to
    `ChatOpenAI` works). None: the preset's default address (`http://localhost:8080` for
    "auto")."""
    server: str = "auto"
    """The kind of server: "auto" (found from the server on first use), or a preset: "llama.cpp",
    "llamafile", "lmstudio", "vllm", "ollama", "localai", "koboldcpp", "jan", "mlx", "generic"."""
    server_options: dict[str, Any] = Field(default_factory=dict)
    """Preset fields to override, e.g. `{"tools": False}` for a server started without tool
    parsing, or `{"reasoning_fields": ["thinking"]}`; see `ServerPreset`."""
    model: str | None = Field(default=None, validation_alias=AliasChoices("model", "model_name"))
    """The model to ask for. None: the server's first model in `GET /v1/models` (servers that
    serve one model ignore the name)."""

    _engine: OpenAICompatEngine | None = PrivateAttr(default=None)

    def given_preset(self) -> ServerPreset | None:
        """The named preset with `server_options` applied (None for "auto").

        Raises:
            ValueError: An unknown preset or server option.
        """
        if self.server.strip().lower() == "auto":
            ServerPreset("check", "", "", "").replace(**self.server_options)
            return None
        return preset(self.server).replace(**self.server_options)

    @model_validator(mode="after")
    def _check_connection(self) -> Self:
        given = self.given_preset()
        if self.base_url is None:
            self.base_url = (given or PRESETS["generic"]).default_url
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"base_url must start with http:// or https://, not {self.base_url!r} "
                "(e.g. 'http://localhost:8000/v1')."
            )
        return self

    @property
    def engine(self) -> OpenAICompatEngine:
        """The HTTP engine (made on first use; its connections are pooled and reused)."""
        if self._engine is None:
            self._engine = OpenAICompatEngine(
                self.base_url or PRESETS["generic"].default_url,
                server=self.server,
                server_options=self.server_options,
                **self.transport_options(),
            )
        return self._engine

    def server_facts(self, *, refresh: bool = False) -> ServerFacts:
        """What the server is and serves: its preset, models and context window (asked once)."""
        return self.engine.facts(refresh=refresh)

    async def aserver_facts(self, *, refresh: bool = False) -> ServerFacts:
        """The async `server_facts`."""
        return await self.engine.afacts(refresh=refresh)


class OpenAICompatParams(OpenAICompatConnection, GenerationParams):
    """Connection and sampling parameters, in OpenAI's names.

    Sampling fields left at None are not sent: the server's own defaults apply (LM Studio's
    per-model settings, vLLM's `generation_config`), as with any other client.
    """

    _localkit_runtime: ClassVar[str] = "openai_compatible"
    _call_options: ClassVar[frozenset[str]] = _CALL_OPTIONS

    max_tokens: int | None = Field(
        default=256, validation_alias=AliasChoices("max_tokens", "max_completion_tokens")
    )
    """Most tokens to generate; None or -1: the server's limit (often the whole context)."""
    temperature: float | None = Field(default=None, ge=0.0)
    """Sampling temperature; 0 is greedy. None: the server's default."""
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    """Nucleus sampling. None: the server's default."""
    top_k: int | None = Field(default=None, ge=0)
    """Sample from the K most likely tokens (not OpenAI's; llama.cpp, vLLM, LM Studio, LocalAI
    and KoboldCpp take it). None: the server's default."""
    min_p: float | None = Field(default=None, ge=0.0, le=1.0)
    """Drop tokens less likely than this fraction of the most likely one (where taken)."""
    repeat_penalty: float | None = Field(default=None, ge=0.0)
    """Penalty for repeated tokens, sent in the server's own name (`repetition_penalty` on
    vLLM, `rep_pen` on KoboldCpp)."""
    presence_penalty: float | None = None
    """OpenAI's presence penalty."""
    frequency_penalty: float | None = None
    """OpenAI's frequency penalty."""
    seed: int | None = None
    """Sampling seed (None or negative: the server draws one)."""
    stop: list[str] | None = None
    """Stop strings; the server halts when one appears (it is not returned)."""
    grammar: str | None = None
    """A GBNF grammar constraining every generation, sent in the server's field (`grammar` on
    llama.cpp, LocalAI and KoboldCpp, `structured_outputs.grammar` on vLLM)."""
    extra_body: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("extra_body", "model_kwargs")
    )
    """More request fields, sent as they are (e.g. `{"cache_prompt": True, "n_probs": 3}` on
    llama.cpp, `{"chat_template_kwargs": {"enable_thinking": False}}`)."""
    verbose: bool = False
    """Print each call's timing report (llama.cpp's layout) to stderr."""

    @model_validator(mode="after")
    def _check_sampling(self) -> Self:
        given = self.given_preset() if self.grammar is not None else None
        if given is not None and given.grammar_field is None:
            raise ValueError(f"{given.title} takes no grammar; drop `grammar=`.")
        return self

    def _params(self, p: ServerPreset, stop: list[str] | None, options: dict[str, Any]) -> dict:
        """The request fields of one call (all but messages/prompt), for the server `p`.

        Raises:
            ValueError: A grammar or repetition penalty for a server that takes none.
        """
        self._check_call_options(options)
        options = dict(options)
        extra = options.pop("extra_body", None) or {}
        fields: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
            "seed": self.seed,
            "repeat_penalty": self.repeat_penalty,
            "grammar": self.grammar,
        }
        if "max_completion_tokens" in options:
            options["max_tokens"] = options.pop("max_completion_tokens")
        fields.update(options)
        body = {k: v for k, v in fields.items() if v is not None and k != "max_tokens"}
        if body.get("seed", 0) < 0:
            del body["seed"]
        if "repeat_penalty" in body:
            penalty = body.pop("repeat_penalty")
            if p.repeat_penalty_field is None:
                raise ValueError(f"{p.title} takes no repetition penalty; drop `repeat_penalty`.")
            body[p.repeat_penalty_field] = penalty
        grammar = body.pop("grammar", None)
        body.update(self.extra_body)
        body.update(extra)
        if grammar is not None:
            if p.grammar_field is None:
                raise ValueError(
                    f"{p.title} takes no grammar; drop `grammar=` (or pass "
                    "`server_options={'grammar_field': ...}` if your server has one)."
                )
            put(body, p.grammar_field, grammar)  # merged into an extra_body's nested fields
        stops = merge_stop(self.stop, stop)
        if stops:
            body["stop"] = list(stops)
        body["max_tokens"] = options.get("max_tokens", self.max_tokens)
        return body

    def _model_label(self) -> str:
        return self.model or "openai-compatible"

    def get_token_ids(self, text: str) -> list[int]:
        """Token ids of `text` from the server's tokenizer (llama.cpp's and vLLM's `/tokenize`).

        Servers without one fall back to LangChain's approximate count.
        """
        try:
            return self.engine.tokenize(text, self.model)
        except NotImplementedError:
            return super().get_token_ids(text)  # type: ignore[misc]


__all__ = ["OpenAICompatConnection", "OpenAICompatParams", "put"]

"""`ChatOpenAICompatible`: a chat model on any OpenAI-compatible local server.

llama-server, LM Studio, vLLM, Ollama's `/v1`, LocalAI, KoboldCpp, Jan, `mlx_lm.server`,
llamafile: one class, with a preset per server kind (`engines.http.servers`) that says what the
server honours, found from the server itself on first use or named with `server=`.

How a call runs. Plain chat streams `POST /v1/chat/completions`: text, the reasoning the server
separates (`reasoning_content` or `reasoning`, kept in `additional_kwargs["reasoning_content"]`
and never mixed into the text), usage from the last chunk, llama.cpp's `timings` (elsewhere the
measured times, in the same `Timings` form). Tools and structured output take the best route
the server has (`constrain="auto"`):

- "server": the server parses tool calls (`tools`, `tool_choice`) and honours
  `response_format` itself; tool-call deltas stream as they come.
- "grammar": the server takes a GBNF grammar (llama.cpp, LocalAI, KoboldCpp, vLLM): the tools
  are described in the system message and the reply is constrained to `<tool_call>` blocks
  or to the response format's schema, then parsed and checked.
- "prompt": asked for in the system message, parsed, checked against the JSON schemas and
  asked again with the problem told (`max_retries`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncGenerator, Generator, Iterator, Sequence
from typing import Any, ClassVar, Literal

from langchain_core.messages import BaseMessage, convert_to_openai_messages
from pydantic import Field

from langchain_localkit._core.generation import Event, GenerationInfo, TextDelta
from langchain_localkit._core.streaming import iterate_in_thread
from langchain_localkit._faces.chat import ChatCall, LocalChatModel, areply_events, reply_events
from langchain_localkit._faces.checked import checked_events
from langchain_localkit._openai_compat import OpenAICompatParams, put
from langchain_localkit.engines.gbnf import (
    any_json_gbnf,
    json_schema_to_gbnf,
    tool_calls_reply_gbnf,
)
from langchain_localkit.engines.http.openai import chat_request
from langchain_localkit.engines.http.servers import ServerPreset
from langchain_localkit.engines.openai_compat import ServerFacts

Route = Literal["server", "grammar", "prompt"]


def route(call: ChatCall, p: ServerPreset, constrain: str = "auto") -> Route:
    """How a call's tools or response format are honoured on the server `p`.

    Args:
        call: The call.
        p: What the server honours.
        constrain: "auto" (the best the server has), or a route to force.

    Raises:
        ValueError: "grammar" forced on a server that takes none.
    """
    if not (call.tools or call.response_format is not None) or constrain == "server":
        return "server"
    if constrain == "grammar" and p.grammar_field is None:
        raise ValueError(
            f"{p.title} takes no grammar; use constrain='server' or 'prompt' (or name the "
            "server's grammar field with `server_options={'grammar_field': ...}`)."
        )
    if constrain in ("grammar", "prompt"):
        return constrain  # type: ignore[return-value]
    if call.tools:
        native = p.tools and (not call.choice.forced or p.tool_choice_required)
    else:
        native = p.json_schema or (p.json_object and call.schema is None)
    if native:
        return "server"
    return "grammar" if p.grammar_field is not None else "prompt"


def grammar_for(call: ChatCall, attempt: int) -> str | None:
    """The grammar of one attempt on the grammar route.

    The response format's schema; tool calls when the choice forces one. With the choice
    "auto" the model may answer in text, so the first attempt is free; an attempt after an
    invalid call (the model chose to call) is constrained to the calls.
    """
    if call.response_format is not None:
        return json_schema_to_gbnf(call.schema) if call.schema is not None else any_json_gbnf()
    if call.choice.forced or attempt > 1:
        return tool_calls_reply_gbnf(call.tools, call.choice.name, parallel=call.parallel)
    return None


class ChatOpenAICompatible(OpenAICompatParams, LocalChatModel):
    """A chat model on any OpenAI-compatible local server (llama-server, LM Studio, vLLM, ...).

    The `ChatOpenAI(base_url=...)` for llama-server, LM Studio, vLLM, Ollama's `/v1`, LocalAI,
    KoboldCpp, Jan and mlx_lm. Unlike `ChatOpenAI`, it keeps what these servers add: the
    reasoning text (`reasoning_content` / `reasoning`), llama.cpp's timings, grammar and extra
    sampling fields; it finds what the server honours (tools, `tool_choice`, `response_format`, a
    grammar) and falls back to a grammar or to a checked prompt where the server lacks a
    feature; it never reads `OPENAI_API_KEY` and needs no key by default. (llama-index calls
    its counterpart `OpenAILike`; simonw/llm, "OpenAI-compatible models".)

    Setup:
        Start a server, e.g. `llama-server -m model.gguf --jinja`, `vllm serve <model>`,
        `lms server start` (LM Studio), `ollama serve`. No extra Python package is needed.

    Key init args:
        base_url: the server, with or without `/v1` (default: the preset's address;
        `http://localhost:8080` for "auto"). server: "auto" (detect) or a preset name
        ("llama.cpp", "lmstudio", "vllm", "ollama", ...). model: None takes the server's
        first model. constrain: how tools and structured output are honoured.
        max_tokens, temperature, top_p, top_k, min_p, repeat_penalty, seed, stop, grammar,
        extra_body: sampling (None: the server's default).

    Instantiate:
        .. code-block:: python

            from langchain_localkit import ChatOpenAICompatible

            chat = ChatOpenAICompatible(base_url="http://localhost:1234/v1")  # LM Studio
            chat = ChatOpenAICompatible(server="vllm", model="Qwen/Qwen3-4B")

    Invoke and stream:
        .. code-block:: python

            msg = chat.invoke("Why is the sky blue? One sentence.")
            msg.additional_kwargs.get("reasoning_content")  # a thinking model's thoughts
            msg.usage_metadata, msg.response_metadata["timings"]["eval_tokens_per_second"]
            for chunk in chat.stream("Count to five."):
                print(chunk.content, end="", flush=True)

    Tools and structured output:
        .. code-block:: python

            from pydantic import BaseModel


            class City(BaseModel):
                name: str
                country: str


            chat.bind_tools([City], tool_choice="any").invoke("Paris").tool_calls
            chat.with_structured_output(City).invoke("The capital of Italy")
    """

    constrain: Literal["auto", "server", "grammar", "prompt"] = "auto"
    """How tools and structured output are honoured: "auto" (the server's own where it has
    them, else a grammar, else a checked prompt), or one route for every call."""
    max_retries: int = Field(default=2, ge=0)
    """On the grammar and prompt routes: how often to ask again after a reply that does not
    parse or does not match its schema."""

    _json_hint_suffix: ClassVar[str] = " Reply with the JSON only."
    _llm_type_name: ClassVar[str] = "openai-compatible-chat"
    _identifying_fields: ClassVar[str] = (
        "base_url server model max_tokens temperature top_p top_k seed"
    )

    def _body(
        self,
        call: ChatCall,
        facts: ServerFacts,
        messages: Sequence[BaseMessage] | None = None,
        grammar: str | None = None,
    ) -> dict[str, Any]:
        """The request of one generation.

        Without `messages`: the server route, with the call's tools and response format.
        With them: the checked routes' plain request, with an optional grammar.
        """
        p = facts.preset
        params = self._params(p, call.stop, call.options)
        max_tokens = params.pop("max_tokens")
        model = facts.model_for(call.model or self.model)
        openai_messages = convert_to_openai_messages(list(messages or call.messages))
        if messages is not None:
            if grammar is not None and p.grammar_field is not None:
                put(params, p.grammar_field, grammar)
            return chat_request(
                openai_messages,
                params=params,
                model=model,
                max_tokens=max_tokens,
                stream_usage=p.stream_usage,
            )
        schema = call.schema
        json_object = call.response_format is not None and schema is None
        if call.response_format is not None and not p.json_schema:
            schema = None  # the server has json_object only: the reply is checked by the parser
        elif json_object and not p.json_object:
            schema, json_object = {"type": "object"}, False
        return chat_request(
            openai_messages,
            params=params,
            model=model,
            max_tokens=max_tokens,
            tools=call.tools,
            tool_choice=call.choice.mode,
            tool_name=call.choice.name,
            parallel_tool_calls=call.parallel,
            response_schema=schema,
            json_object=json_object,
            stream_usage=p.stream_usage,
        )

    def _events(
        self, call: ChatCall, cancel: threading.Event | None = None
    ) -> Generator[Event, None, None]:
        """The server's stream as events; or a checked reply on the grammar and prompt routes."""
        engine = self.engine
        facts = engine.facts()
        how = route(call, facts.preset, self.constrain)
        if how == "server":
            with contextlib.closing(engine.chat(self._body(call, facts), self.model)) as items:
                yield from reply_events(items)
            return

        def attempt(messages: Sequence[BaseMessage], number: int) -> Iterator[str | GenerationInfo]:
            grammar = grammar_for(call, number) if how == "grammar" else None
            body = self._body(call, facts, messages, grammar)
            for item in engine.chat(body, model_name=self.model):
                if isinstance(item, TextDelta):
                    yield item.text
                elif isinstance(item, GenerationInfo):
                    yield item

        yield from checked_events(
            call, attempt, max_retries=self.max_retries, label=self._model_label()
        )

    async def _aevents(self, call: ChatCall) -> AsyncGenerator[Event, None]:
        """Native async on the server route; the checked routes run in a worker thread."""
        engine = self.engine
        facts = await engine.afacts()
        if route(call, facts.preset, self.constrain) != "server":
            async for event in iterate_in_thread(lambda cancel: self._events(call, cancel)):
                yield event
            return
        async for event in areply_events(engine.achat(self._body(call, facts), self.model)):
            yield event


__all__ = ["ChatOpenAICompatible", "grammar_for", "route"]

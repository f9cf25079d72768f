"""A chat call on an OpenAI-compatible engine: the route it takes, its requests, its events.

Shared by `ChatOpenAICompatible` and `ChatLlamafile(endpoint="chat")` (the same engine, the
same preset logic; the faces differ only in the request fields they send). The routes for
tools and structured output:

- "server": the server parses tool calls and honours `response_format` itself;
- "grammar": a GBNF grammar in the server's grammar field constrains the reply to
  `<tool_call>` blocks or to the schema, which is then parsed and checked;
- "prompt": asked for in the system message, parsed, checked, asked again (`max_retries`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import BaseMessage, convert_to_openai_messages

from langchain_localkit._core.errors import ServerError
from langchain_localkit._core.generation import Event, GenerationInfo, TextDelta
from langchain_localkit._core.streaming import iterate_in_thread
from langchain_localkit._faces.chat import ChatCall, areply_events, reply_events
from langchain_localkit._faces.checked import checked_events
from langchain_localkit._openai_compat import put
from langchain_localkit.engines.gbnf import (
    any_json_gbnf,
    json_schema_to_gbnf,
    tool_calls_reply_gbnf,
)
from langchain_localkit.engines.http.openai import chat_request
from langchain_localkit.engines.http.servers import ServerPreset
from langchain_localkit.engines.openai_compat import OpenAICompatEngine, ServerFacts

logger = logging.getLogger(__name__)

Route = Literal["server", "grammar", "prompt"]
Constrain = Literal["auto", "server", "grammar", "prompt"]


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


Fields = Callable[[ServerPreset], Mapping[str, Any]]
"""A face's request fields for the server in hand (sampling, stop, `max_tokens`, extras)."""


@dataclass
class OpenAIChat:
    """One chat call on an OpenAI-compatible engine, as a face configured it.

    Attributes:
        engine: The engine (its preset is found on first use).
        call: The parsed call.
        fields: The face's request fields for a preset.
        model: The model to ask for (None: the call's, else the server's first).
        constrain: The route to force, or "auto".
        max_retries: Retries on the grammar and prompt routes.
        label: The model's name for warnings.
    """

    engine: OpenAICompatEngine
    call: ChatCall
    fields: Fields
    model: str | None = None
    constrain: str = "auto"
    max_retries: int = 2
    label: str = "model"

    def body(
        self,
        facts: ServerFacts,
        messages: Sequence[BaseMessage] | None = None,
        grammar: str | None = None,
    ) -> dict[str, Any]:
        """The request of one generation.

        Without `messages`: the server route, with the call's tools and response format.
        With them: the checked routes' plain request, with an optional grammar.
        """
        call, p = self.call, facts.preset
        params = dict(self.fields(p))
        max_tokens = params.pop("max_tokens", None)
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
        schema, json_object = call.schema, False
        if call.response_format is not None:
            if schema is not None and not p.json_schema:
                schema, json_object = None, p.json_object  # the parser checks the reply
            elif schema is None and p.json_object:
                json_object = True
            elif schema is None:
                schema = {"type": "object"}
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

    def _route(self, facts: ServerFacts) -> Route:
        how = route(self.call, facts.preset, self.constrain)
        if how == "server" and self.call.response_format is not None and self.engine.no_format:
            return "grammar"  # this server refused `response_format` before (see below)
        return how

    def events(self, cancel: threading.Event | None = None) -> Generator[Event, None, None]:
        """The server's stream as events; or a checked reply on the grammar and prompt routes."""
        facts = self.engine.facts()
        how = self._route(facts)
        if how == "server":
            try:
                with contextlib.closing(self.engine.chat(self.body(facts), self.model)) as items:
                    yield from reply_events(items)
                return
            except ServerError as e:
                if not self._grammar_instead(facts, e):
                    raise
            how = "grammar"
        yield from self._checked(facts, how, cancel)

    async def aevents(self) -> AsyncGenerator[Event, None]:
        """Native async on the server route; the checked routes run in a worker thread."""
        facts = await self.engine.afacts()
        how = self._route(facts)
        if how == "server":
            try:
                async for event in areply_events(self.engine.achat(self.body(facts), self.model)):
                    yield event
                return
            except ServerError as e:
                if not self._grammar_instead(facts, e):
                    raise
            how = "grammar"
        async for event in iterate_in_thread(lambda cancel: self._checked(facts, how, cancel)):
            yield event

    def _checked(
        self, facts: ServerFacts, how: Route, cancel: threading.Event | None = None
    ) -> Generator[Event, None, None]:
        """The grammar or prompt route: a checked reply."""
        engine, call = self.engine, self.call

        def attempt(messages: Sequence[BaseMessage], number: int) -> Iterator[str | GenerationInfo]:
            grammar = grammar_for(call, number) if how == "grammar" else None
            body = self.body(facts, messages, grammar)
            with contextlib.closing(engine.chat(body, self.model)) as items:
                for item in items:
                    if isinstance(item, TextDelta):
                        yield item.text
                    elif isinstance(item, GenerationInfo):
                        yield item

        yield from checked_events(call, attempt, max_retries=self.max_retries, label=self.label)

    def _grammar_instead(self, facts: ServerFacts, error: ServerError) -> bool:
        """Whether a refused `response_format` is asked again under our grammar.

        llama-server answers HTTP 400 "Failed to initialize samplers" to any `response_format`
        when the model's vocabulary cannot spell the template's generation prompt (its grammar
        starts there); the same schema as a grammar of ours works. The refusal comes before
        any output, so nothing was shown yet; the engine remembers it for later calls.
        """
        if not (
            self.call.response_format is not None
            and facts.preset.grammar_field is not None
            and self.constrain == "auto"
            and error.status_code == 400
            and "initialize samplers" in str(error)
        ):
            return False
        logger.warning(
            "%s refused the response format (%s); constraining replies with a grammar instead.",
            facts.preset.title,
            error,
        )
        self.engine.no_format = True
        return True


__all__ = ["Constrain", "Fields", "OpenAIChat", "Route", "grammar_for", "route"]

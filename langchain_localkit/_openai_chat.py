"""A chat call on an OpenAI-compatible engine: the route it takes, its requests, its events.

Shared by `ChatOpenAICompatible` and `ChatLlamafile(endpoint="chat")` (the same engine, the
same preset logic; the faces differ only in the request fields they send). The routes for
tools and structured output:

- "server": the server parses tool calls and honours `response_format` itself;
- "grammar": a GBNF grammar in the server's grammar field constrains the reply to
  `<tool_call>` blocks or to the schema, which is then parsed and checked;
- "prompt": asked for in the system message, parsed, checked, asked again (`max_retries`).

Thinking models: the call's `reasoning` switch goes to the server in the preset's fields
(`thinking_fields`); earlier turns' reasoning goes back in the preset's message field; the
reasoning the server keeps apart passes through (dropped with `reasoning=False`), and
`<think>` blocks a server leaves in the text are split out here. On the grammar route the
grammar lets the reply start with a thought (must, when the template opens one).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import (
    AsyncGenerator,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import BaseMessage

from langchain_localkit._core.errors import ServerError
from langchain_localkit._core.generation import (
    Event,
    GenerationInfo,
    ReasoningDelta,
    TextDelta,
)
from langchain_localkit._core.streaming import iterate_in_thread
from langchain_localkit._faces.chat import ChatCall, areply_events, reply_events
from langchain_localkit._faces.checked import checked_events
from langchain_localkit._openai_compat import put
from langchain_localkit._openai_thinking import (
    Thoughts,
    bounded_thought,
    openai_messages,
    split_reply,
    template_thinking,
)
from langchain_localkit.engines.gbnf import (
    any_json_gbnf,
    json_schema_to_gbnf,
    tool_calls_reply_gbnf,
    with_thought,
)
from langchain_localkit.engines.http.openai import chat_request
from langchain_localkit.engines.http.servers import ServerPreset, thinking_fields
from langchain_localkit.engines.openai_compat import OpenAICompatEngine, ServerFacts
from langchain_localkit.prompts.thinking import ThinkingPlan

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
        With them: the checked routes' plain request, with an optional grammar. Both carry
        the call's `reasoning` switch in the preset's fields (a field the caller set wins).
        """
        call, p = self.call, facts.preset
        params = dict(self.fields(p))
        max_tokens = params.pop("max_tokens", None)
        model = facts.model_for(call.model or self.model)
        for path, value in thinking_fields(p, call.reasoning).items():
            if not _has(params, path):
                put(params, path, value)
        openai_msgs = openai_messages(list(messages or call.messages), p.history_reasoning_field)
        if messages is not None:
            if grammar is not None and p.grammar_field is not None:
                put(params, p.grammar_field, grammar)
            return chat_request(
                openai_msgs,
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
            openai_msgs,
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

    def thinking(self, facts: ServerFacts) -> ThinkingPlan:
        """How this call treats thoughts on this server (the plan of `prompts.thinking`).

        The thought format and whether the generation prompt opens a thought come from the
        chat template a llama.cpp server reports; elsewhere `<think>` is assumed when
        `reasoning` is set.
        """
        from langchain_localkit.prompts.thinking import plan_thinking

        fmt, opened = None, False
        template = facts.props.chat_template if facts.props is not None else None
        if template:
            fmt, opened = template_thinking(template, self.call.reasoning)
        plan = plan_thinking("", fmt, self.call.reasoning, constrained=self.call.constrained)
        if opened and plan.fmt is not None:
            return ThinkingPlan(
                plan.prompt,
                plan.fmt,
                True,
                plan.keep,
                plan.split,
                self.call.reasoning is not False,
            )
        return plan

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
            thoughts = Thoughts(self.thinking(facts), self.call.reasoning)
            try:
                with contextlib.closing(self.engine.chat(self.body(facts), self.model)) as items:
                    yield from reply_events(thoughts.filter(items))
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
            thoughts = Thoughts(self.thinking(facts), self.call.reasoning)
            try:
                items = self.engine.achat(self.body(facts), self.model)
                async for event in areply_events(thoughts.afilter(items)):
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
        """The grammar or prompt route: a checked reply, its thoughts split out first."""
        engine, call = self.engine, self.call
        plan = self.thinking(facts)
        fmt = plan.fmt if plan.split else None

        def attempt(
            messages: Sequence[BaseMessage], number: int
        ) -> Iterator[str | ReasoningDelta | GenerationInfo]:
            grammar = grammar_for(call, number) if how == "grammar" else None
            thinks = plan.opened or plan.think_first  # must, when the prompt opened it
            if grammar is not None and fmt is not None and fmt.tagged and thinks:
                grammar = with_thought(grammar, fmt, opened=plan.opened)
                grammar = bounded_thought(grammar, self.fields(facts.preset))
            body = self.body(facts, messages, grammar)
            parts: list[str] = []
            served = 0
            with contextlib.closing(engine.chat(body, self.model)) as items:
                for item in items:
                    if isinstance(item, TextDelta):
                        parts.append(item.text)
                    elif isinstance(item, ReasoningDelta):
                        served += 1
                        if call.reasoning is not False:
                            yield item
                    elif isinstance(item, GenerationInfo):
                        split, pieces = split_reply(parts, fmt, opened=plan.opened, keep=plan.keep)
                        yield from split
                        if not item.reasoning_tokens and call.reasoning is not None:
                            item.reasoning_tokens = served + pieces
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


def _has(body: Mapping[str, Any], path: str) -> bool:
    """Whether a (dotted) request field is set."""
    *parents, leaf = path.split(".")
    for name in parents:
        child = body.get(name)
        if not isinstance(child, Mapping):
            return False
        body = child
    return leaf in body


__all__ = [
    "Constrain",
    "Fields",
    "OpenAIChat",
    "Route",
    "grammar_for",
    "route",
]

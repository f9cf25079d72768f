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
import dataclasses
import threading
from collections.abc import AsyncGenerator, Generator
from typing import ClassVar

from langchain_core.language_models import ModelProfile
from pydantic import Field

from langchain_localkit._core.generation import Event
from langchain_localkit._faces.chat import ChatCall, LocalChatModel
from langchain_localkit._faces.profile_build import (
    route_faculties,
    server_profile,
    thinking_of,
    vision_in_props,
)
from langchain_localkit._openai_chat import Constrain, OpenAIChat
from langchain_localkit._openai_compat import OpenAICompatParams
from langchain_localkit.engines.http.server import display_model_name
from langchain_localkit.engines.openai_compat import ServerFacts, split_base_url


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

    Profile:
        Built without I/O from the declarations: tool calls and any `tool_choice` work on
        every route (the server's, a grammar, a checked prompt; with `constrain="server"`,
        what the preset says the server honours). `structured_output` is False: LangChain's
        agents read it to send `response_format` with tools in the same call, which the
        grammar and prompt routes cannot combine. The first call fills in what the server
        said when it was first asked (`/v1/models`: the model id, vLLM's `max_model_len`,
        llama.cpp's `/props` context and template); `resolve_profile()` asks now.

        .. code-block:: python

            chat.resolve_profile().get("max_input_tokens")  # vLLM: 4096
    """

    constrain: Constrain = "auto"
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

    def _profile_key(self) -> tuple[str, ...]:
        options = repr(sorted(self.server_options.items()))
        root = split_base_url(self.base_url or "")
        return ("openai-compatible", root, self.server, options, self.model or "")

    def _profile_facts(self) -> ServerFacts:
        return self.engine.facts(refresh=True)

    async def _aprofile_facts(self) -> ServerFacts:
        return await self.engine.afacts(refresh=True)

    def _build_profile(self, facts: ServerFacts | None) -> ModelProfile:
        p = facts.preset if facts is not None else self.given_preset()
        if p is not None:
            faculties = route_faculties(
                tools=p.tools,
                tool_choice_required=p.tool_choice_required,
                grammar=p.grammar_field is not None,
                constrain=self.constrain,
            )
        else:  # "auto", not asked yet: the server's own routes are unknown
            faculties = route_faculties(
                tools=True, tool_choice_required=True, grammar=True, constrain="auto"
            )
            if self.constrain == "server":
                faculties = dataclasses.replace(faculties, tools=None, tool_choice=None)
        props = facts.props if facts is not None else None
        return server_profile(
            faculties,
            name=display_model_name(facts.model_for(self.model) if facts else self.model) or None,
            context=facts.context_length if facts is not None else None,
            thinking=thinking_of(props.chat_template if props is not None else None),
            images=vision_in_props(props.raw) if props is not None else None,
            open_weights=None if p is None or p.name == "generic" else True,
        )

    def _chat(self, call: ChatCall) -> OpenAIChat:
        return OpenAIChat(
            self.engine,
            call,
            lambda p: self._params(p, call.stop, call.options),
            model=self.model,
            constrain=self.constrain,
            max_retries=self.max_retries,
            label=self._model_label(),
        )

    def _events(
        self, call: ChatCall, cancel: threading.Event | None = None
    ) -> Generator[Event, None, None]:
        """The server's stream as events; or a checked reply on the grammar and prompt routes."""
        yield from self._chat(call).events(cancel)
        self._learn_profile(self.engine.facts)  # asked by the call: no I/O

    async def _aevents(self, call: ChatCall) -> AsyncGenerator[Event, None]:
        """Native async on the server route; the checked routes run in a worker thread."""
        async with contextlib.aclosing(self._chat(call).aevents()) as events:
            async for event in events:
                yield event
        self._learn_profile(self.engine.facts)  # asked by the call: no I/O


__all__ = ["ChatOpenAICompatible"]

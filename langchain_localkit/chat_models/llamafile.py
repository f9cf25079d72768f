"""`ChatLlamafile`: a chat model on a llamafile or llama.cpp server.

Tools and structured output are grammar-constrained, as in `ChatLlamaCpp`.

How a call runs (the default `endpoint="completion"`): the messages are rendered with the
model's prompt format by the prompt pack (the GGUF's own template when the server runs on this
machine, else the template the server reports in `/props`, with the model family detected
from it or from the model's name), and sent to the native `POST /completion`. Tool calls and
structured output are constrained by the server's grammar engine from the JSON schemas, as
`ChatLlamaCpp` does in-process: `tool_choice="auto"` streams free text with `<tool_call>` as a
stop string and, if the model opens a call, continues under the call's schema; "any" or a
named tool constrain from the start. This works on every server version (llamafile's older
server has `grammar` on `/completion` but no `tools` and no `json_schema`), keeps the KV cache
across the steps (`cache_prompt`), and reports the server's `timings`, `stop_type` and token
counts for every step.

`endpoint="chat"` sends the messages to the OpenAI-compatible `POST /v1/chat/completions`
instead, where the server renders its own chat template: the better path for models whose
template carries a native tool format (Qwen 2.5, Llama 3.1, Hermes, ...) or that reason
(`reasoning_content`, kept apart from the text). That path is `ChatOpenAICompatible`'s
(`_openai_chat.OpenAIChat`, on the same engine): the server parses tool calls itself when
`/props` says the template has a tool format, and otherwise a grammar constrains them. On
llamafile's older server, calls with tools or a response format fall back to the
`/completion` path.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from langchain_core.language_models import ModelProfile
from langchain_core.messages import BaseMessage

from langchain_localkit._core.generation import Event
from langchain_localkit._faces.chat import ChatCall, LocalChatModel
from langchain_localkit._faces.profile_build import (
    Faculties,
    server_profile,
    thinking_of,
    vision_in_props,
)
from langchain_localkit._llamafile import LlamafileParams
from langchain_localkit._llamafile_script import Plan, Script
from langchain_localkit._openai_chat import OpenAIChat
from langchain_localkit.engines.llamafile import ServerInfo
from langchain_localkit.prompts.thinking import render_planned

logger = logging.getLogger(__name__)


LLAMA_CPP_DEFAULT_TEMPLATE = (
    "{%- for message in messages -%}\n"
    "  {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '<|im_start|>assistant\n' -}}\n"
    "{%- endif -%}"
)
"""The ChatML template llama.cpp's server reports for a GGUF that has none (e.g. a base model).

When `/props` shows exactly this, the model's real format is looked up by its name instead.
"""


def _is_llama_cpp_default(template: str) -> bool:
    return "".join(template.split()) == "".join(LLAMA_CPP_DEFAULT_TEMPLATE.split())


class ChatLlamafile(LlamafileParams, LocalChatModel):
    """A chat model served by a llamafile or by llama.cpp's `llama-server`, over HTTP.

    Messages are rendered in the model's prompt format by the prompt pack and sent to the
    server's native `/completion` endpoint; tool calls and structured output are constrained
    by the server's grammar engine, so even small models return valid, schema-conforming JSON
    (the same behaviour as `ChatLlamaCpp`, on any server version). Usage metadata and the
    server's timings come with every reply, streamed or not. `endpoint="chat"` uses the
    server's OpenAI-compatible endpoint and its own chat template instead.

    Setup:
        Run `./model.llamafile --server --nobrowser` or `llama-server -m model.gguf`.

    Key init args:
        base_url: the server (default `http://localhost:8080`). chat_format: a family name
        ("llama3", "gemma", ...) overriding detection. chat_template: a Jinja template
        overriding the server's. endpoint: "completion" (default) or "chat".
        max_tokens, temperature, top_p, top_k, repeat_penalty, seed, stop: sampling.

    Instantiate:
        .. code-block:: python

            from langchain_localkit import ChatLlamafile

            chat = ChatLlamafile()  # http://localhost:8080

    Invoke:
        .. code-block:: python

            msg = chat.invoke([("system", "Answer in French."), ("human", "Name a river.")])
            msg.usage_metadata  # {'input_tokens': 24, 'output_tokens': 9, 'total_tokens': 33}
            msg.response_metadata["timings"]["eval_tokens_per_second"]

    Tool calling and structured output (grammar-constrained, as in `ChatLlamaCpp`):
        .. code-block:: python

            from typing import TypedDict


            class Booking(TypedDict):
                '''A table booking.'''

                name: str
                seats: int


            call = chat.bind_tools([Booking], tool_choice="any").invoke("Ada, table for 4")
            call.tool_calls  # [{'name': 'Booking', 'args': {'name': 'Ada', 'seats': 4}, ...}]
            chat.with_structured_output(Booking).invoke("Book for Ada, 4 people")

    Profile:
        Built without I/O: what the face can do (grammar-constrained tool calls and any
        `tool_choice`; `structured_output` False, as for `ChatLlamaCpp`). The first call
        fills in what `/props` says (the slot's `n_ctx` as `max_input_tokens`, the model's
        name, thought markers in its template, vision with `endpoint="chat"`);
        `resolve_profile()` asks now.

        .. code-block:: python

            chat.resolve_profile()["max_input_tokens"]  # 4096
    """

    chat_format: str | None = None
    """A model family ("llama2", "llama3", "chatml", "gemma", "mistral", ...) whose prompt
    format to use instead of the detected one."""
    chat_template: str | None = None
    """A Jinja chat template to use instead of the server's."""
    guard: Literal["escape", "strip", "allow"] = "escape"
    """What to do with a format's control strings inside message text: escape them (default),
    strip them, or allow them (trusted input only)."""
    endpoint: Literal["completion", "chat"] = "completion"
    """"completion": the prompt pack renders the chat, `/completion` generates (grammar-
    constrained tools and output on every server). "chat": `/v1/chat/completions` with the
    server's own template, as `ChatOpenAICompatible` runs it."""
    streaming: bool = True
    """Read the server's stream on `invoke` too, so callbacks see every token. False sends one
    non-streaming request per generation step to `/completion` (`endpoint="chat"` always
    streams): less client work per token, which counts when the client and the server share a
    few cores. LangChain then answers `stream()` with one chunk too (its rule for an explicit
    `streaming=False`)."""

    _llm_type_name: ClassVar[str] = "llamafile-chat"
    _identifying_fields: ClassVar[str] = (
        "base_url model endpoint chat_format max_tokens temperature top_p top_k seed"
    )

    def _profile_key(self) -> tuple[str, ...]:
        return ("llama-server", self.base_url.rstrip("/"), self.model or "")

    def _profile_facts(self) -> ServerInfo:
        return self.engine.info(refresh=True)

    async def _aprofile_facts(self) -> ServerInfo:
        return await self.engine.ainfo(refresh=True)

    def _build_profile(self, facts: ServerInfo | None) -> ModelProfile:
        served = facts.chat_template if facts is not None else None
        template = self.chat_template or served
        vision = vision_in_props(facts.raw) if facts is not None else None
        return server_profile(
            Faculties(structured_output=False),
            name=self.model or (facts.model_name if facts is not None else None),
            context=facts.n_ctx if facts is not None else None,
            thinking=thinking_of(template),
            images=False if self.endpoint == "completion" else vision,
        )

    def prompt_target(self, info: ServerInfo) -> Any:
        """The prompt format for the server's model: a template, a family or a `Detection`.

        In order: `chat_template`; `chat_format`; the GGUF file itself when the server runs on
        this machine (its own template, else its architecture); the template the server
        reports, unless it is llama.cpp's ChatML default (reported for a GGUF without a
        template, e.g. a base Gemma) and the model's name names a family; the model's name;
        else ChatML, with a warning.
        """
        from langchain_localkit.prompts import detect, get_family, recognize_template
        from langchain_localkit.prompts.detection import Detection

        if self.chat_template:
            return self.chat_template
        if self.chat_format:
            return get_family(self.chat_format)
        if info.model_path and Path(info.model_path).is_file():
            found = detect(Path(info.model_path))
            if found.known or found.chat_template:
                return found
        by_name = detect(info.model_name) if info.model_name else None
        if info.chat_template:
            if _is_llama_cpp_default(info.chat_template) and by_name is not None and by_name.known:
                return by_name
            family, exact = recognize_template(info.chat_template)
            return Detection(
                family,
                "chat_template",
                "the chat template the server reports in /props",
                chat_template=info.chat_template,
                template_exact=exact,
            )
        if by_name is not None and by_name.known:
            return by_name
        logger.warning(
            "The server at %s reports no chat template and its model name (%s) names no known "
            "family; using ChatML. Pass `chat_format=` (a family name) or `chat_template=`.",
            self.base_url,
            info.model_name,
        )
        return get_family("chatml")

    def render(
        self,
        messages: Sequence[BaseMessage],
        info: ServerInfo | None = None,
        *,
        reasoning: Any = None,
    ) -> Any:
        """Render `messages` in the server model's prompt format (a `RenderedPrompt`).

        Args:
            messages: The conversation.
            info: The server's `/props` (fetched when not given).
            reasoning: The `reasoning` switch (True, False or an effort level), given to the
                template as the variables thinking templates read (`enable_thinking`,
                `reasoning_effort`).
        """
        target = self.prompt_target(info if info is not None else self.engine.info())
        return render_planned(messages, target, reasoning, guard=self.guard)[0]

    def _streams_on_invoke(self) -> bool:
        return self.streaming or self.endpoint == "chat"

    def _plan(self, call: ChatCall, info: ServerInfo) -> Plan:
        rendered, thinking = render_planned(
            call.prompt_messages(),
            self.prompt_target(info),
            call.reasoning,
            guard=self.guard,
            constrained=call.constrained,
        )
        body = self._body(call.stop, call.options)
        stops = list(body.get("stop", []))
        stops += [s for s in rendered.stop if s not in stops]
        if stops:
            body["stop"] = stops
        if call.response_format is not None:
            body.pop("grammar", None)
            body["json_schema"] = call.schema if call.schema is not None else {"type": "object"}
        return Plan(
            prompt=thinking.prompt, body=body, call=call, bos=info.bos_token, thinking=thinking
        )

    def _use_chat_endpoint(self, call: ChatCall, info: Callable[[], ServerInfo | None]) -> bool:
        if self.endpoint != "chat":
            return False
        if _structured(call) and (server := info()) is not None and server.legacy:
            logger.info(
                "llamafile's older server has no tools or response_format on "
                "/v1/chat/completions; using /completion with a grammar instead."
            )
            return False
        return True

    def _chat(self, call: ChatCall) -> OpenAIChat:
        """The call on the OpenAI-compatible endpoint, as `ChatOpenAICompatible` runs it."""

        def fields(_: object) -> dict[str, Any]:
            body = self._body(call.stop, call.options)
            body["max_tokens"] = body.pop("n_predict", -1)  # `/v1`'s name for it
            return body

        return OpenAIChat(self.engine, call, fields, model=self.model, label=self._model_label())

    def _events(
        self, call: ChatCall, cancel: threading.Event | None = None
    ) -> Generator[Event, None, None]:
        """The call's requests: `/v1/chat/completions`, or the `/completion` steps of `Script`.

        With `call.stream` off, each step is one non-streaming request.
        """
        engine = self.engine
        if self._use_chat_endpoint(call, engine.info):
            yield from self._chat(call).events(cancel)
            self._learn_profile(lambda: engine.facts().props)  # read by the call: no I/O
            return
        info = engine.info()
        self._learn_profile(lambda: info)
        plan = self._plan(call, info)
        if plan.needs_bos_id:
            plan.bos_id = engine.bos_token_id()
        script = Script(plan)
        name = self.model or ""
        while script.step is not None:
            body = script.request()
            if call.stream:
                with contextlib.closing(engine.stream_completion(body, model_name=name)) as items:
                    for item in items:
                        yield from script.take((item,))
            else:
                yield from script.take(engine.complete(body, model_name=name))
            script.next()
        yield from script.end()

    async def _aevents(self, call: ChatCall) -> AsyncGenerator[Event, None]:
        """The async `_events`."""
        engine = self.engine
        server = await engine.ainfo() if self.endpoint != "chat" or _structured(call) else None
        if self._use_chat_endpoint(call, lambda: server):
            async with contextlib.aclosing(self._chat(call).aevents()) as events:
                async for event in events:
                    yield event
            self._learn_profile(lambda: engine.facts().props)  # read by the call: no I/O
            return
        assert server is not None  # /completion is taken only where /props was read above
        self._learn_profile(lambda: server)
        plan = self._plan(call, server)
        if plan.needs_bos_id:
            plan.bos_id = await engine.abos_token_id()
        script = Script(plan)
        name = self.model or ""
        while script.step is not None:
            body = script.request()
            if call.stream:
                items = engine.astream_completion(body, model_name=name)
                async with contextlib.aclosing(items):
                    async for item in items:
                        for event in script.take((item,)):
                            yield event
            else:
                for event in script.take(await engine.acomplete(body, model_name=name)):
                    yield event
            script.next()
        for event in script.end():
            yield event


def _structured(call: ChatCall) -> bool:
    return bool(call.tools) or call.response_format is not None


__all__ = ["ChatLlamafile"]

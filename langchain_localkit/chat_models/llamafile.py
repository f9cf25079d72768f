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
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from langchain_core.messages import BaseMessage

from langchain_localkit._core.generation import (
    Done,
    Event,
    GenerationInfo,
    TextDelta,
    ToolCallsText,
)
from langchain_localkit._core.reasoning import ThoughtSplitter
from langchain_localkit._core.tools import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, tool_call_schema
from langchain_localkit._faces.chat import ChatCall, LocalChatModel
from langchain_localkit._llamafile import LlamafileParams
from langchain_localkit._openai_chat import OpenAIChat
from langchain_localkit.engines.gbnf import thought_step_gbnf
from langchain_localkit.engines.llamafile import ServerInfo
from langchain_localkit.prompts.thinking import ThinkingPlan, plan_thinking

logger = logging.getLogger(__name__)


MORE_CALLS_GRAMMAR = f'root ::= ("\\n" "{TOOL_CALL_OPEN}")?'
"""After a call (parallel calls on): either end, or open another call. The model decides."""

_MORE_CALLS_TOKENS = 8

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


@dataclass
class _Plan:
    """What one chat call will send: the prompt, the request fields, and the call."""

    prompt: str
    body: dict[str, Any]
    call: ChatCall
    bos: str | None = None
    bos_id: int | None = None
    thinking: ThinkingPlan | None = None

    def wire(self, prompt: str) -> str | list[Any]:
        """The prompt as sent: a BOS written as text becomes its token id.

        The server adds BOS itself to a prompt that starts with text; starting with the id
        instead keeps it from adding a second one.
        """
        if self.bos and self.bos_id is not None and prompt.startswith(self.bos):
            rest = prompt[len(self.bos) :]
            return [self.bos_id, rest] if rest else [self.bos_id]
        return prompt

    @property
    def needs_bos_id(self) -> bool:
        """Whether the prompt starts with the BOS text (its id is then asked of the server)."""
        return bool(self.bos) and self.prompt.startswith(self.bos or "")


@dataclass
class _Step:
    body: dict[str, Any]
    emit: bool


class _Script:
    """The requests of one call, step by step (the same for the sync and async drivers).

    Thought (a thinking model asked for a constrained reply): the model thinks in a step of
    its own, within half of the budget, stopped at the close tag (a grammar lets it write one
    thought block or none; none when the prompt opened the thought); the close tag is then
    written for it. Text: free text (with `<tool_call>` as a stop string when tools are bound
    and the choice is "auto"), its thoughts split out. Call: one call, constrained by the
    JSON schema of `{"name", "arguments"}`. More (parallel calls only): a tiny grammar lets
    the model end or open another call.
    """

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.call = plan.call
        self.prompt = plan.prompt
        self.thinking = plan.thinking
        self.infos: list[GenerationInfo] = []
        self.calls: list[str] = []
        self.phase = "text"
        self.splitter: ThoughtSplitter | None = None
        self.step: _Step | None = self.first()
        self.parts: list[str] = []
        self.info: GenerationInfo | None = None

    def request(self) -> dict[str, Any]:
        """The body of the current step's request."""
        assert self.step is not None
        self.parts, self.info = [], None
        return {"prompt": self.plan.wire(self.prompt), **self.step.body}

    def take(self, items: Iterable[str | GenerationInfo]) -> list[Event]:
        """Record what the server sent for the current step; the text to show, as events."""
        assert self.step is not None
        out: list[Event] = []
        splitter = self.splitter if self.step.emit else None
        for item in items:
            if isinstance(item, str):
                self.parts.append(item)
                if splitter is not None:
                    out.extend(splitter.feed(item))
                elif self.step.emit and item:
                    out.append(TextDelta(item))
            else:
                if splitter is not None:
                    out.extend(splitter.flush())
                    item.reasoning_tokens = splitter.thought_pieces
                if self.phase == "thought":
                    item.reasoning_tokens = item.completion_tokens
                self.info = item
        return out

    def next(self) -> None:
        """Move to the next step (`step` is None when the call is over)."""
        assert self.info is not None
        self.step = self.advance("".join(self.parts), self.info)

    def end(self) -> list[Event]:
        """The tool-call block, if any, then `Done` with the server's stop type."""
        last = self.infos[-1].extra
        metadata: dict[str, Any] = {k: last[k] for k in ("stop_type", "tokens_cached") if k in last}
        done = Done(tuple(self.infos), metadata=metadata)
        return [ToolCallsText(self.tool_text()), done] if self.calls else [done]

    def _budget(self) -> int:
        limit = int(self.plan.body.get("n_predict", -1))
        if limit <= 0:
            return -1
        return max(limit - sum(i.completion_tokens for i in self.infos), 16)

    def _base(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in self.plan.body.items()
            if k not in ("stop", "grammar", "json_schema", "n_predict")
        }

    def _call_step(self) -> _Step:
        self.phase = "call"
        self.prompt += TOOL_CALL_OPEN
        schema = tool_call_schema(self.call.tools, self.call.choice.name)
        return _Step({**self._base(), "json_schema": schema, "n_predict": self._budget()}, False)

    def first(self) -> _Step:
        thinking, call = self.thinking, self.call
        forced = call.response_format is not None or (call.tools and call.choice.forced)
        if forced and thinking is not None and thinking.think_first and thinking.fmt is not None:
            return self._thought_step()
        return self._answer_step()

    def _thought_step(self) -> _Step:
        assert self.thinking is not None and self.thinking.fmt is not None
        fmt = self.thinking.fmt
        self.phase = "thought"
        self.splitter = self.thinking.splitter()
        limit = int(self.plan.body.get("n_predict", -1))
        body = {
            **self._base(),
            "stop": [fmt.close, *self.plan.body.get("stop", [])],
            "n_predict": limit // 2 if limit > 0 else -1,
        }
        if not self.thinking.opened:
            body["grammar"] = thought_step_gbnf(fmt)
        return _Step(body, True)

    def _answer_step(self) -> _Step:
        if self.call.tools and self.call.choice.forced:
            return self._call_step()
        self.phase = "text"
        body = dict(self.plan.body)
        if self.infos:  # after a thought step: the answer only, within what is left
            body["n_predict"] = self._budget()
            self.splitter = None
        elif self.thinking is not None:
            self.splitter = self.thinking.splitter()
        if self.call.tools:
            body["stop"] = [*body.get("stop", []), TOOL_CALL_OPEN]
        return _Step(body, True)

    def advance(self, text: str, info: GenerationInfo) -> _Step | None:
        self.infos.append(info)
        if self.phase == "thought":
            assert self.thinking is not None and self.thinking.fmt is not None
            if self.thinking.opened or text.strip():
                sep = "" if text.endswith("\n") else "\n"
                self.prompt += text + sep + self.thinking.fmt.close + "\n\n"
            return self._answer_step()
        if self.phase == "text":
            if self.call.tools and info.stop_reason == TOOL_CALL_OPEN:
                self.prompt += text
                return self._call_step()
            return None
        if self.phase == "call":
            if info.finish_reason == "length":
                self.calls.append(TOOL_CALL_OPEN + text)  # cut off: reported as dropped
                return None
            self.calls.append(TOOL_CALL_OPEN + text + TOOL_CALL_CLOSE)
            self.prompt += text + TOOL_CALL_CLOSE
            budget = self._budget()
            if not self.call.parallel or 0 <= budget <= 16:
                return None
            self.phase = "more"
            body = {**self._base(), "grammar": MORE_CALLS_GRAMMAR, "n_predict": _MORE_CALLS_TOKENS}
            return _Step(body, False)
        # phase "more": the model opened another call, or ended
        if text.startswith("\n" + TOOL_CALL_OPEN):
            self.prompt += "\n"
            return self._call_step()
        return None

    def tool_text(self) -> str:
        return "\n".join(self.calls)


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
        return self._render(messages, target, reasoning)

    def _render(self, messages: Sequence[BaseMessage], target: Any, reasoning: Any) -> Any:
        from langchain_localkit.prompts import render_chat
        from langchain_localkit.prompts.thinking import thinking_variables

        return render_chat(
            list(messages), target, guard=self.guard, template_kwargs=thinking_variables(reasoning)
        )

    def _streams_on_invoke(self) -> bool:
        return self.streaming or self.endpoint == "chat"

    def _plan(self, call: ChatCall, info: ServerInfo) -> _Plan:
        from langchain_localkit.prompts.thinking import thought_format_of

        target = self.prompt_target(info)
        rendered = self._render(call.prompt_messages(), target, call.reasoning)
        thinking = plan_thinking(
            rendered.prompt,
            thought_format_of(target),
            call.reasoning,
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
        return _Plan(
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
        """The call's requests: `/v1/chat/completions`, or the `/completion` steps of `_Script`.

        With `call.stream` off, each step is one non-streaming request.
        """
        engine = self.engine
        if self._use_chat_endpoint(call, engine.info):
            yield from self._chat(call).events(cancel)
            return
        plan = self._plan(call, engine.info())
        if plan.needs_bos_id:
            plan.bos_id = engine.bos_token_id()
        script = _Script(plan)
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
            async for event in self._chat(call).aevents():
                yield event
            return
        assert server is not None  # /completion is taken only where /props was read above
        plan = self._plan(call, server)
        if plan.needs_bos_id:
            plan.bos_id = await engine.abos_token_id()
        script = _Script(plan)
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

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

import threading
from collections.abc import AsyncGenerator, Generator
from typing import ClassVar

from pydantic import Field

from langchain_localkit._core.generation import Event
from langchain_localkit._faces.chat import ChatCall, LocalChatModel
from langchain_localkit._openai_chat import Constrain, OpenAIChat
from langchain_localkit._openai_compat import OpenAICompatParams


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
        return self._chat(call).events(cancel)

    def _aevents(self, call: ChatCall) -> AsyncGenerator[Event, None]:
        """Native async on the server route; the checked routes run in a worker thread."""
        return self._chat(call).aevents()


__all__ = ["ChatOpenAICompatible"]

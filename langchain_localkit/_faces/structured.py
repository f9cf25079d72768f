"""`bind_tools` and `with_structured_output` for every chat face, and their helpers.

They only bind call options (`tools`, `tool_choice`, `parallel_tool_calls`,
`response_format`); the chat skeleton parses them into a `ChatCall` and each runtime decides
how to honour them (a llama.cpp grammar in process or on a server, prompt + validation
elsewhere).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from langchain_localkit._core.errors import InvalidRequestError
from langchain_localkit._core.tools import normalize_tool_choice, to_openai_tools

logger = logging.getLogger("langchain_localkit.chat")

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]


class ToolsAndStructuredOutputMixin:
    """`bind_tools` and `with_structured_output` (put it before `BaseChatModel` in the bases).

    The model's `_stream` receives the bound `tools` (OpenAI-style dicts), `tool_choice`,
    `parallel_tool_calls` and `response_format` (`{"type": "json_schema", "schema": ...}` or
    `{"type": "json_object"}`).
    """

    if TYPE_CHECKING:

        def bind(self, **kwargs: Any) -> Any: ...

        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]: ...

        def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]: ...

    def _check_tool_schemas(self, tools: list[dict[str, Any]]) -> None:
        """Refuse tools this model cannot be constrained to (a face with grammars checks)."""

    def _check_response_schema(self, schema: dict[str, Any]) -> None:
        """Refuse a response schema this model cannot be constrained to (see above)."""

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools the model may call.

        Args:
            tools: Pydantic models, functions, `BaseTool`s or OpenAI-style dicts.
            tool_choice: "auto" (default: answer or call), "none", "any"/"required" (must
                call one), or a tool name (must call that one).
            parallel_tool_calls: Allow several calls in one reply. Off by default: small local
                models tend to repeat a call until `max_tokens` when allowed to go on.
            **kwargs: Further call options bound with the tools.

        Raises:
            ValueError: `tool_choice` names no bound tool, or two different tools share a name.

        Example:
            >>> def add(a: int, b: int) -> int:
            ...     '''Add two integers.'''
            ...     return a + b
            >>> with_tools = chat.bind_tools([add], tool_choice="auto")  # doctest: +SKIP
        """
        formatted = checked_tools(tools, type(self).__name__)
        normalize_tool_choice(tool_choice, formatted)
        self._check_tool_schemas(formatted)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: StructuredMethod = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Output that follows `schema`.

        Args:
            schema: A Pydantic model, a TypedDict, or a JSON schema dict (an OpenAI tool dict
                works with "function_calling"). Optional for "json_mode".
            method: "json_schema" (the schema constrains the reply; default),
                "function_calling" (a forced tool call), or "json_mode" (any JSON object;
                describe the shape in the prompt).
            include_raw: Return `{"raw", "parsed", "parsing_error"}` instead of raising.
            strict: Accepted for compatibility; each model documents its guarantee.
            **kwargs: Unsupported; raises.

        Raises:
            ValueError: An unknown method, a missing schema, or unexpected arguments.
            OutputParserException: (when invoked) the reply does not parse, or `max_tokens`
                cut it off before its JSON or tool call was complete.

        Example:
            >>> from pydantic import BaseModel
            >>> class Person(BaseModel):
            ...     name: str
            ...     age: int
            >>> extract = chat.with_structured_output(Person)  # doctest: +SKIP
            >>> extract.invoke("Ada Lovelace was born in 1815 ...")  # doctest: +SKIP
        """
        if kwargs:
            raise ValueError(f"Unexpected arguments: {', '.join(sorted(kwargs))}")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        if method == "function_calling":
            if schema is None:
                raise ValueError("method='function_calling' needs a schema")
            tool = convert_to_openai_tool(schema)
            name = tool["function"]["name"]
            llm = self.bind_tools(
                [schema],
                tool_choice=name,
                parallel_tool_calls=False,
                ls_structured_output_format={"kwargs": {"method": method}, "schema": tool},
            )
            parser: Runnable[Any, Any] = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            if method == "json_schema" and schema is None:
                raise ValueError("method='json_schema' needs a schema")
            try:
                json_schema = convert_to_json_schema(schema) if schema is not None else None
            except (ValueError, TypeError) as e:
                raise InvalidRequestError(
                    f"{type(self).__name__}.with_structured_output: the schema cannot be used "
                    f"({' '.join(str(e).split())[:300]}). Pass a Pydantic model, a TypedDict "
                    "or a JSON-schema dict with a top-level 'title'."
                ) from None
            if json_schema is not None:
                self._check_response_schema(json_schema)
            response_format: dict[str, Any] = (
                {"type": "json_schema", "schema": json_schema}
                if method == "json_schema"
                else {"type": "json_object"}
            )
            llm = self.bind(
                response_format=response_format,
                ls_structured_output_format={"kwargs": {"method": method}, "schema": json_schema},
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema)
                if is_pydantic and isinstance(schema, type)
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"Unknown method {method!r}: use 'json_schema', 'function_calling' or 'json_mode'."
            )
        parser = RunnableLambda(refuse_truncated, name="refuse_truncated") | parser
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parsed.with_fallbacks(
            [fallback], exception_key="parsing_error"
        )


_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def checked_tools(tools: Sequence[Any], face: str) -> list[dict[str, Any]]:
    """`tools` in OpenAI's function format, each with a usable name and a JSON-schema object.

    Raises:
        InvalidRequestError: A tool LangChain cannot convert, one without a name (or with
            a name models cannot write), or one whose `parameters` is not a JSON-schema object.
    """
    try:
        formatted = to_openai_tools(tools)
    except (KeyError, TypeError, ValueError) as e:
        detail = f"it has no {e}" if isinstance(e, KeyError) else str(e)
        raise InvalidRequestError(
            f"{face}.bind_tools: a tool cannot be used ({detail}). Pass functions, BaseTools, "
            'Pydantic models, or dicts like {"type": "function", "function": {"name": ..., '
            '"description": ..., "parameters": {"type": "object", "properties": {...}}}}.'
        ) from None
    for tool in formatted:
        fn = tool.get("function") or {}
        name = fn.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise InvalidRequestError(
                f"{face}.bind_tools: the tool name {name!r} cannot be used: a name is 1 to 64 "
                "letters, digits, '_', '.' or '-' (the model writes it in its calls)."
            )
        params = fn.get("parameters")
        if params is not None and not isinstance(params, dict):
            raise InvalidRequestError(
                f"{face}.bind_tools: the parameters of tool {name!r} are a "
                f"{type(params).__name__}, not a JSON-schema object: pass "
                '{"type": "object", "properties": {...}, "required": [...]}.'
            )
    return formatted


def refuse_truncated(message: BaseMessage) -> BaseMessage:
    """Pass `message` on, unless `max_tokens` cut its JSON (or tool call) off.

    LangChain's JSON parsers close a truncated object silently, which would hand back a
    partial result as if it were whole.

    Raises:
        OutputParserException: The reply ended at `max_tokens` with no complete tool call and
            no complete JSON value.
    """
    if message.response_metadata.get("finish_reason") != "length":
        return message
    if isinstance(message, AIMessage) and message.tool_calls:
        return message
    text = message.text
    try:
        json.loads(text)
    except ValueError:
        pass
    else:
        return message
    raise OutputParserException(
        "The reply reached max_tokens before its JSON was complete (finish_reason='length'). "
        "Raise max_tokens, or bound the schema's free-text fields (maxLength).",
        llm_output=text,
    )


def with_system(messages: Sequence[BaseMessage], text: str) -> list[BaseMessage]:
    """Add `text` to the system message (or start the conversation with one)."""
    out = list(messages)
    if out and isinstance(out[0], SystemMessage) and isinstance(out[0].content, str):
        out[0] = SystemMessage(content=f"{out[0].content}\n\n{text}")
    else:
        out.insert(0, SystemMessage(content=text))
    return out


def response_format_schema(response_format: Any) -> tuple[dict[str, Any] | None, str]:
    """The JSON schema of an OpenAI-style `response_format`, and an instruction for the prompt.

    The schema is None for `{"type": "json_object"}` without one (any JSON object).

    Raises:
        ValueError: `response_format` is not one of the two accepted shapes.
    """
    if not isinstance(response_format, dict):
        raise ValueError(f"response_format must be a dict, not {response_format!r}")
    kind = response_format.get("type")
    schema = response_format.get("schema")
    if kind == "json_schema":
        schema = schema or (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise ValueError("response_format type 'json_schema' needs a 'schema'")
    elif kind == "json_object":
        if schema is None:
            return None, "Respond with a JSON object."
        if not isinstance(schema, dict):
            raise ValueError("response_format 'schema' must be a JSON schema dict")
    else:
        raise ValueError(f"Unsupported response_format type {kind!r}")
    compact = json.dumps(schema, separators=(",", ":"))
    return schema, f"Respond with a JSON object matching this schema: {compact}"


__all__ = [
    "StructuredMethod",
    "refuse_truncated",
    "ToolsAndStructuredOutputMixin",
    "response_format_schema",
    "with_system",
]

"""Tools -> JSON schema -> grammar, and tool calls parsed back into LangChain's shapes.

A local model calls a tool by writing `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`.
Where the runtime has grammars (llama.cpp), decoding after `<tool_call>` is constrained by a
grammar built from `tool_call_schema` (by `langchain_localkit.engines.gbnf`, which needs the
runtime), so every call is valid JSON that matches its schema; elsewhere the same format is
parsed and validated.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import InvalidToolCall, ToolCall
from langchain_core.messages.tool import invalid_tool_call, tool_call
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"

ToolLike = Mapping[str, Any] | type | Callable[..., Any] | BaseTool
ToolMode = Literal["auto", "none", "required"]


@dataclass(frozen=True)
class ToolChoice:
    """A normalised `tool_choice`: a mode, and the one tool to call when one is named."""

    mode: ToolMode
    name: str | None = None

    @property
    def forced(self) -> bool:
        """Whether the model must call a tool."""
        return self.mode == "required"


def to_openai_tools(tools: Sequence[ToolLike]) -> list[dict[str, Any]]:
    """Tools (dicts, Pydantic models, functions, BaseTools) in OpenAI's function format.

    The same tool given twice (e.g. a Pydantic model and its JSON schema) is kept once; two
    different tools with one name are refused.
    """
    by_name: dict[str, dict[str, Any]] = {}
    for tool in tools:
        converted = convert_to_openai_tool(tool)
        name = converted["function"]["name"]
        previous = by_name.get(name)
        if previous is not None and _signature(previous) != _signature(converted):
            raise ValueError(f"Two different tools are named {name!r}; tool names must be unique")
        by_name.setdefault(name, converted)
    return list(by_name.values())


def _signature(tool: Mapping[str, Any]) -> str:
    """The tool's parameters and description, ignoring the `title`s Pydantic adds to schemas."""

    def untitled(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: untitled(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [untitled(v) for v in node]
        return node

    fn = tool["function"]
    return json.dumps([untitled(fn.get("parameters")), fn.get("description")], sort_keys=True)


def normalize_tool_choice(tool_choice: Any, tools: Sequence[Mapping[str, Any]]) -> ToolChoice:
    """Read `tool_choice` as LangChain passes it.

    Accepts None/"auto", "none", "any"/"required"/True, a tool name, or
    `{"type": "function", "function": {"name": ...}}`.

    Raises:
        ValueError: An unknown value or a tool name that is not bound.
    """
    names = [t["function"]["name"] for t in tools]
    if tool_choice is None or tool_choice == "auto":
        return ToolChoice("auto")
    if tool_choice is False or tool_choice == "none":
        return ToolChoice("none")
    if tool_choice is True or tool_choice in ("any", "required"):
        return ToolChoice("required", names[0] if len(names) == 1 else None)
    if isinstance(tool_choice, Mapping):
        name = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
        if not isinstance(name, str):
            raise ValueError(f"Cannot read a tool name from tool_choice={tool_choice!r}")
        tool_choice = name
    if isinstance(tool_choice, str):
        if tool_choice not in names:
            raise ValueError(
                f"tool_choice names {tool_choice!r}, which is not among the bound tools: "
                f"{', '.join(names) or '(none)'}"
            )
        return ToolChoice("required", tool_choice)
    raise ValueError(
        f"Unsupported tool_choice={tool_choice!r}: use 'auto', 'none', 'any'/'required', "
        "or a tool name."
    )


def _rewrite_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/"):
                out[k] = f"#/$defs/{prefix}{v[len('#/$defs/') :]}"
            else:
                out[k] = _rewrite_refs(v, prefix)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, prefix) for v in node]
    return node


def tool_call_schema(tools: Sequence[Mapping[str, Any]], only: str | None = None) -> dict[str, Any]:
    """The JSON schema of one call: `{"name": <a tool>, "arguments": <its parameters>}`.

    Definitions (`$defs`) of each tool's schema are hoisted to the root under a per-tool
    prefix so that references keep resolving.
    """
    alternatives: list[dict[str, Any]] = []
    defs: dict[str, Any] = {}
    for i, tool in enumerate(tools):
        fn = tool["function"]
        if only is not None and fn["name"] != only:
            continue
        params = dict(fn.get("parameters") or {"type": "object", "properties": {}})
        local_defs = params.pop("$defs", None) or params.pop("definitions", None) or {}
        prefix = f"t{i}_"
        params = _rewrite_refs(params, prefix)
        for name, sub in local_defs.items():
            defs[prefix + name] = _rewrite_refs(sub, prefix)
        params.setdefault("type", "object")
        alternatives.append(
            {
                "type": "object",
                "properties": {"name": {"const": fn["name"]}, "arguments": params},
                "required": ["name", "arguments"],
            }
        )
    if not alternatives:
        raise ValueError(f"No tool named {only!r} is bound")
    schema: dict[str, Any] = alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}
    if defs:
        schema = {**schema, "$defs": defs}
    return schema


def new_tool_call_id() -> str:
    """A fresh tool call id in OpenAI's style."""
    return f"call_{uuid.uuid4().hex[:24]}"


_CALL_RE = re.compile(
    re.escape(TOOL_CALL_OPEN) + r"(.*?)(" + re.escape(TOOL_CALL_CLOSE) + r"|$)", re.DOTALL
)
UNTERMINATED = "unterminated"


def parse_tool_calls(
    text: str, tools: Sequence[Mapping[str, Any]]
) -> tuple[str, list[ToolCall], list[InvalidToolCall]]:
    """Split model output into its text and the tool calls it made.

    Returns:
        The text before the first `<tool_call>`, the valid calls, and the invalid ones (bad
        JSON, an unknown tool, arguments that are not an object) with the error. A call cut off
        before its closing tag (the reply hit `max_tokens`) is invalid with an error starting
        with "unterminated".
    """
    first = text.find(TOOL_CALL_OPEN)
    if first < 0:
        return text, [], []
    names = {t["function"]["name"] for t in tools}
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for match in _CALL_RE.finditer(text, first):
        raw = match.group(1).strip()
        call_id = new_tool_call_id()
        if not match.group(2):
            try:
                json.loads(raw)
            except (json.JSONDecodeError, RecursionError):
                invalid.append(
                    invalid_tool_call(
                        args=raw,
                        id=call_id,
                        error=f"{UNTERMINATED}: the reply ended before {TOOL_CALL_CLOSE}",
                    )
                )
                continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            invalid.append(invalid_tool_call(args=raw, id=call_id, error=f"invalid JSON: {e}"))
            continue
        except RecursionError:
            invalid.append(
                invalid_tool_call(args=raw, id=call_id, error="invalid JSON: nested too deeply")
            )
            continue
        name = data.get("name") if isinstance(data, dict) else None
        args = data.get("arguments", data.get("parameters", {})) if isinstance(data, dict) else None
        if not isinstance(name, str) or name not in names:
            invalid.append(
                invalid_tool_call(name=str(name), args=raw, id=call_id, error="unknown tool")
            )
        elif not isinstance(args, dict):
            invalid.append(
                invalid_tool_call(
                    name=name, args=raw, id=call_id, error="arguments must be a JSON object"
                )
            )
        else:
            calls.append(tool_call(name=name, args=args, id=call_id))
    return text[:first], calls, invalid


def tools_system_prompt(tools: Sequence[Mapping[str, Any]], choice: ToolChoice) -> str:
    """Instructions that present the tools and the call format, for templates without tools."""
    lines = [
        "You can call these tools. To call one, reply with",
        f'{TOOL_CALL_OPEN}{{"name": <tool name>, "arguments": <JSON object>}}{TOOL_CALL_CLOSE}',
        "and nothing else. Available tools:",
    ]
    for tool in tools:
        fn = tool["function"]
        if choice.name is not None and fn["name"] != choice.name:
            continue
        params = json.dumps(fn.get("parameters") or {}, separators=(",", ":"))
        lines.append(f"- {fn['name']}: {fn.get('description', '').strip()} Parameters: {params}")
    if choice.forced:
        lines.append(
            f"You must call the tool {choice.name}." if choice.name else "You must call a tool."
        )
    else:
        lines.append("If no tool is needed, answer directly.")
    return "\n".join(lines)


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


MAX_SCHEMA_DEPTH = 64
"""How deep `schema_errors` follows a value (and `$ref`s) before it calls the value too deep."""


def schema_errors(
    value: Any, schema: Mapping[str, Any], path: str = "$", defs: Mapping[str, Any] | None = None
) -> list[str]:
    """What keeps `value` from matching a JSON schema (the common keywords), or [] if it does.

    Checks `type`, `properties`, `required`, `additionalProperties: false`, `items`, `enum`,
    `const`, `anyOf`/`oneOf` and local `$ref`s: what tool and structured-output schemas from
    Pydantic models and functions use. For output that no grammar constrained. Keywords of a
    malformed schema (a `required` that is not a list, an `anyOf` of strings) are skipped,
    never raised on; a value (or a `$ref` chain) deeper than `MAX_SCHEMA_DEPTH` is an error.

    Example:
        >>> schema = {
        ...     "type": "object",
        ...     "properties": {"age": {"type": "integer"}},
        ...     "required": ["age"],
        ... }
        >>> schema_errors({"age": "ten"}, schema)
        ["$.age: expected integer, got 'ten'"]
    """
    if not isinstance(schema, Mapping):
        return []
    if defs is None:
        defs = schema.get("$defs", schema.get("definitions", {}))
    return _schema_errors(value, schema, path, defs if isinstance(defs, Mapping) else {}, 0)


def _schema_errors(
    value: Any, schema: Any, path: str, defs: Mapping[str, Any], depth: int
) -> list[str]:
    if not isinstance(schema, Mapping):
        return []  # `true`, or not a schema: nothing to check
    if depth > MAX_SCHEMA_DEPTH:
        return [f"{path}: nested deeper than {MAX_SCHEMA_DEPTH} levels"]
    deeper = depth + 1
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1])
        return _schema_errors(value, target, path, defs, deeper)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            if any(not _schema_errors(value, o, path, defs, deeper) for o in options):
                return []
            return [f"{path}: matches none of the allowed shapes"]
    errors: list[str] = []
    all_of = schema.get("allOf")
    for sub in all_of if isinstance(all_of, list) else []:
        errors += _schema_errors(value, sub, path, defs, deeper)
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        return [f"{path}: {value!r} is not one of {enum!r}"]
    if "const" in schema and value != schema["const"]:
        return [f"{path}: expected {schema['const']!r}"]
    kinds = schema.get("type")
    names = [k for k in (kinds if isinstance(kinds, list) else [kinds]) if isinstance(k, str)]
    if names:
        ok = any(
            isinstance(value, _JSON_TYPES.get(k, (object,)))
            and not (k in ("integer", "number") and isinstance(value, bool))
            for k in names
        )
        if not ok:
            return [f"{path}: expected {' or '.join(names)}, got {value!r}"]
    if isinstance(value, dict):
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        required = schema.get("required")
        for name in required if isinstance(required, list) else []:
            if isinstance(name, str) and name not in value:
                errors.append(f"{path}: missing required property {name!r}")
        for name, item in value.items():
            if name in props:
                errors += _schema_errors(item, props[name], f"{path}.{name}", defs, deeper)
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected property {name!r}")
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            errors += _schema_errors(item, schema["items"], f"{path}[{i}]", defs, deeper)
    return errors


def first_json_value(text: str) -> Any:
    """The first JSON object or array in `text` (prose or code fences around it are skipped).

    Raises:
        ValueError: `text` holds no complete JSON object or array.
    """
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "{[":
            try:
                return decoder.raw_decode(text, i)[0]
            except json.JSONDecodeError:
                continue
            except RecursionError:
                raise ValueError("the JSON in the reply is nested too deeply to read") from None
    raise ValueError("no JSON object in the reply")


__all__ = [
    "MAX_SCHEMA_DEPTH",
    "UNTERMINATED",
    "TOOL_CALL_CLOSE",
    "TOOL_CALL_OPEN",
    "ToolChoice",
    "first_json_value",
    "new_tool_call_id",
    "normalize_tool_choice",
    "parse_tool_calls",
    "schema_errors",
    "to_openai_tools",
    "tool_call_schema",
    "tools_system_prompt",
]

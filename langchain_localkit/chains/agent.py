"""A LangGraph agent for a local chat model: call tools, then answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel


def local_agent(
    chat: BaseChatModel,
    tools: Sequence[Any],
    *,
    first_tool_choice: str = "any",
    max_tool_rounds: int = 3,
) -> Any:
    """A LangGraph agent for a local chat model: call tools, then answer.

    Small local models answer better when the first turn must call a tool
    (`first_tool_choice="any"`, or a tool's name) and later turns may (`"auto"`), and when
    the number of tool rounds is bounded (`max_tool_rounds`: after that the model answers
    without tools). With `ChatLlamaCpp` and `ChatLlamafile` every tool call is
    grammar-constrained to the tools' schemas, so even a 270M model calls them with valid
    arguments.

    Args:
        chat: A chat model with `bind_tools`.
        tools: Functions, `BaseTool`s (what LangGraph's `ToolNode` runs).
        first_tool_choice: Tool choice of the first turn ("any", "auto" or a tool name).
        max_tool_rounds: Tool rounds before the model must answer (at least 1).

    Returns:
        A compiled LangGraph graph: `graph.invoke({"messages": [("human", "...")]})` returns
        the state, whose last message is the model's answer.

    Raises:
        RuntimeNotInstalledError: `langgraph` is not installed.
        ValueError: `max_tool_rounds` is below 1, or no tools.

    Example:
        >>> from langchain_localkit import ChatLlamaCpp
        >>> def get_capital(country: str) -> str:
        ...     '''Return the capital city of a country.'''
        ...     return {"France": "Paris"}.get(country, "unknown")
        >>> chat = ChatLlamaCpp(model_path="model.gguf")  # doctest: +SKIP
        >>> agent = local_agent(chat, [get_capital])  # doctest: +SKIP
        >>> agent.invoke({"messages": [("human", "Capital of France?")]})  # doctest: +SKIP
    """
    try:
        from langgraph.graph import END, START, MessagesState, StateGraph
        from langgraph.prebuilt import ToolNode
    except ImportError as e:
        from langchain_localkit._core.errors import RuntimeNotInstalledError

        raise RuntimeNotInstalledError("langgraph", "agent", "local_agent") from e
    from langchain_core.messages import AIMessage

    if max_tool_rounds < 1:
        raise ValueError("max_tool_rounds must be at least 1")
    if not tools:
        raise ValueError("local_agent needs at least one tool")
    first = chat.bind_tools(list(tools), tool_choice=first_tool_choice)
    later = chat.bind_tools(list(tools), tool_choice="auto")

    def agent(state: Any) -> dict[str, list[Any]]:
        rounds = sum(1 for m in state["messages"] if isinstance(m, AIMessage) and m.tool_calls)
        model = chat if rounds >= max_tool_rounds else (later if rounds else first)
        return {"messages": [model.invoke(state["messages"])]}

    def route(state: Any) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(list(tools)))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph.compile(name="local_agent")


__all__ = ["local_agent"]

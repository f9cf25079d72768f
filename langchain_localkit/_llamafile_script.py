"""The `/completion` steps of one `ChatLlamafile` call, free of I/O (sync and async drivers).

The prompt pack renders the chat; `_Script` says which request comes next: a thought step for
a thinking model asked for a constrained reply, free text (with `<tool_call>` as a stop string
when tools are bound and the choice is "auto"), a call constrained by its JSON schema, and,
with parallel calls, a tiny grammar that lets the model end or open another call. The steps
continue one prompt, so the server's KV cache (`cache_prompt`) carries over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from langchain_localkit._core.generation import (
    Done,
    Event,
    GenerationInfo,
    TextDelta,
    ToolCallsText,
)
from langchain_localkit._core.reasoning import ThoughtSplitter, split_item
from langchain_localkit._core.tools import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, tool_call_schema
from langchain_localkit._faces.chat import ChatCall
from langchain_localkit.engines.gbnf import thought_step_gbnf
from langchain_localkit.prompts.thinking import ThinkingPlan

MORE_CALLS_GRAMMAR = f'root ::= ("\\n" "{TOOL_CALL_OPEN}")?'
"""After a call (parallel calls on): either end, or open another call. The model decides."""

_MORE_CALLS_TOKENS = 8


@dataclass
class Plan:
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
class Step:
    body: dict[str, Any]
    emit: bool


class Script:
    """The requests of one call, step by step (the same for the sync and async drivers).

    Thought (a thinking model asked for a constrained reply): the model thinks in a step of
    its own, within half of the budget, stopped at the close tag (a grammar lets it write one
    thought block or none; none when the prompt opened the thought); the close tag is then
    written for it. Text: free text (with `<tool_call>` as a stop string when tools are bound
    and the choice is "auto"), its thoughts split out. Call: one call, constrained by the
    JSON schema of `{"name", "arguments"}`. More (parallel calls only): a tiny grammar lets
    the model end or open another call.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.call = plan.call
        self.prompt = plan.prompt
        self.thinking = plan.thinking
        self.infos: list[GenerationInfo] = []
        self.calls: list[str] = []
        self.phase = "text"
        self.splitter: ThoughtSplitter | None = None
        self.step: Step | None = self.first()
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
                out.extend(
                    e for e in split_item(item, splitter) if not isinstance(e, GenerationInfo)
                )
            elif isinstance(item, str) and self.step.emit and item:
                out.append(TextDelta(item))
            if isinstance(item, GenerationInfo):
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

    def _call_step(self) -> Step:
        self.phase = "call"
        self.prompt += TOOL_CALL_OPEN
        schema = tool_call_schema(self.call.tools, self.call.choice.name)
        return Step({**self._base(), "json_schema": schema, "n_predict": self._budget()}, False)

    def first(self) -> Step:
        thinking, call = self.thinking, self.call
        forced = call.response_format is not None or (call.tools and call.choice.forced)
        if forced and thinking is not None and thinking.think_first and thinking.fmt is not None:
            return self._thought_step()
        return self._answer_step()

    def _thought_step(self) -> Step:
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
        return Step(body, True)

    def _answer_step(self) -> Step:
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
        return Step(body, True)

    def advance(self, text: str, info: GenerationInfo) -> Step | None:
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
            return Step(body, False)
        # phase "more": the model opened another call, or ended
        if text.startswith("\n" + TOOL_CALL_OPEN):
            self.prompt += "\n"
            return self._call_step()
        return None

    def tool_text(self) -> str:
        return "\n".join(self.calls)


__all__ = ["MORE_CALLS_GRAMMAR", "Plan", "Script", "Step"]

"""Callback handlers for local models: watch tokens arrive, and see how fast the model is.

- `StreamingStdOutCallbackHandler`: print tokens as they arrive, with a separator, flushed.
- `AsyncIteratorCallbackHandler`: `async for token in handler.aiter()`, for web clients.
- `TimingCallbackHandler`: per-run load time, time to first token, prompt and eval rates and
  total time from every runtime's own figures, with aggregates, llama.cpp's report layout, a
  plain table and a notebook view.

Example:
    >>> from langchain_localkit.callbacks import TimingCallbackHandler
    >>> timing = TimingCallbackHandler()
    >>> # llm.invoke("...", config={"callbacks": [timing]}); print(timing.report())
"""

from __future__ import annotations

from langchain_localkit.callbacks.streaming import (
    AsyncIteratorCallbackHandler,
    StreamingStdOutCallbackHandler,
    token_text,
)
from langchain_localkit.callbacks.timing import (
    MEASURED,
    RunTimings,
    TimingCallbackHandler,
    TimingSummary,
    TimingTable,
    get_timing_handler,
    timings_from_generation,
    usage_from_generation,
    with_verbose_timing,
)

__all__ = [
    "MEASURED",
    "AsyncIteratorCallbackHandler",
    "RunTimings",
    "StreamingStdOutCallbackHandler",
    "TimingCallbackHandler",
    "TimingSummary",
    "TimingTable",
    "get_timing_handler",
    "timings_from_generation",
    "token_text",
    "usage_from_generation",
    "with_verbose_timing",
]

"""Callback handlers for local models: watch tokens arrive, and see how fast the model is.

- `StreamingStdOutCallbackHandler`: print tokens as they arrive, with a separator, flushed.
- `AsyncIteratorCallbackHandler`: `async for token in handler.aiter()`, for web clients.
- `TimingCallbackHandler`: per-run load time, time to first token, prompt and eval rates and
  total time from every runtime's own figures, with aggregates, llama.cpp's report layout, a
  plain table and a notebook view.

The public names are those of `streaming` and `timing`, but for `TABLE_COLUMNS` and the
faces' `verbose=True` hook `attach_verbose_timing`, which stay in `timing`.

Example:
    >>> from langchain_localkit.callbacks import TimingCallbackHandler
    >>> timing = TimingCallbackHandler()
    >>> # llm.invoke("...", config={"callbacks": [timing]}); print(timing.report())
"""

from __future__ import annotations

from langchain_localkit.callbacks import streaming, timing
from langchain_localkit.callbacks.streaming import *  # noqa: F403
from langchain_localkit.callbacks.timing import *  # noqa: F403

__all__: list[str] = []
__all__ += streaming.__all__
__all__ += timing.__all__
__all__.remove("TABLE_COLUMNS")
__all__.remove("attach_verbose_timing")

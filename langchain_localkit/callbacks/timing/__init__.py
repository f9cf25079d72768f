"""How fast the local model really is: per-run `Timings` from every runtime, and aggregates.

Each face puts its runtime's own figures on the result: `generation_info["timings"]` (LLMs)
or `response_metadata["timings"]` (chat models), a `Timings.to_dict()`. The handler reads
them in `on_llm_end`, also understands a raw llama.cpp server `timings` object and Ollama's
raw nanosecond durations, and measures around the call what a runtime does not report (time
to first token, wall time, and everything for a runtime that reports nothing).

- `readers`: the figures, token counts and model name on a run's result.
- `report`: the records (`RunTimings`, `TimingSummary`, `TimingTable`) and their views.
- `handler`: `TimingCallbackHandler`, which collects them.
- `verbose`: `verbose=True` on a model (`with_verbose_timing`, `attach_verbose_timing`).
"""

from __future__ import annotations

from langchain_localkit.callbacks.timing.handler import TimingCallbackHandler
from langchain_localkit.callbacks.timing.readers import (
    timings_from_generation,
    usage_from_generation,
)
from langchain_localkit.callbacks.timing.report import (
    DEFAULT_PREFIX as DEFAULT_PREFIX,
)
from langchain_localkit.callbacks.timing.report import (
    MEASURED,
    TABLE_COLUMNS,
    RunTimings,
    TimingSummary,
    TimingTable,
)
from langchain_localkit.callbacks.timing.verbose import (
    attach_verbose_timing,
    get_timing_handler,
    with_verbose_timing,
)

__all__ = [
    "MEASURED",
    "RunTimings",
    "TABLE_COLUMNS",
    "TimingCallbackHandler",
    "TimingSummary",
    "TimingTable",
    "get_timing_handler",
    "timings_from_generation",
    "usage_from_generation",
    "attach_verbose_timing",
    "with_verbose_timing",
]

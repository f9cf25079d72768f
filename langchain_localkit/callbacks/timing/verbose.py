"""`verbose=True` on a model: a `TimingCallbackHandler` that prints each run's report."""

from __future__ import annotations

from typing import Any, TextIO

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager

from langchain_localkit.callbacks.timing.handler import TimingCallbackHandler


def _handlers(callbacks: Any) -> list[BaseCallbackHandler]:
    if isinstance(callbacks, BaseCallbackManager):
        return list(callbacks.handlers)
    if isinstance(callbacks, list | tuple):
        return [h for h in callbacks if isinstance(h, BaseCallbackHandler)]
    return []


def get_timing_handler(source: Any) -> TimingCallbackHandler | None:
    """The `TimingCallbackHandler` among a model's (or a callbacks list's) handlers.

    Args:
        source: A model (its `callbacks` are searched), a list of handlers, or a callback
            manager.

    Example:
        >>> handler = TimingCallbackHandler()
        >>> get_timing_handler([handler]) is handler
        True
    """
    callbacks = getattr(source, "callbacks", source)
    return next((h for h in _handlers(callbacks) if isinstance(h, TimingCallbackHandler)), None)


def with_verbose_timing(callbacks: Any, *, file: TextIO | None = None) -> Any:
    """`callbacks` plus a `TimingCallbackHandler` that prints each run's report (to stderr).

    This is what `verbose=True` on a model does: a face calls it from an after-validator,
    `self.callbacks = with_verbose_timing(self.callbacks)`. The input is not modified (a list
    or a manager is copied); if it already holds a printing `TimingCallbackHandler`, it is
    returned as it is, so calling this twice adds one handler.

    Args:
        callbacks: None, a list of handlers, or a callback manager.
        file: Where reports go; `sys.stderr` when None.

    Returns:
        Callbacks of the same kind (a list when `callbacks` was None).

    Example:
        >>> callbacks = with_verbose_timing(None)
        >>> get_timing_handler(callbacks).print_reports
        True
        >>> len(with_verbose_timing(callbacks))
        1
    """
    if any(isinstance(h, TimingCallbackHandler) and h.print_reports for h in _handlers(callbacks)):
        return callbacks
    handler = TimingCallbackHandler(print_reports=True, file=file)
    if isinstance(callbacks, BaseCallbackManager):
        manager = callbacks.copy()
        manager.add_handler(handler, inherit=False)
        return manager
    return [*(callbacks or []), handler]


def attach_verbose_timing(model: Any) -> None:
    """`verbose=True` on a model: add a printing `TimingCallbackHandler` to its callbacks.

    Faces call it from an after-validator; a model with `verbose` off is left as it is.

    Example:
        >>> from types import SimpleNamespace
        >>> model = SimpleNamespace(verbose=True, callbacks=None)
        >>> attach_verbose_timing(model)
        >>> get_timing_handler(model).print_reports
        True
    """
    if getattr(model, "verbose", False):
        callbacks = with_verbose_timing(getattr(model, "callbacks", None))
        object.__setattr__(model, "callbacks", callbacks)


__all__ = ["attach_verbose_timing", "get_timing_handler", "with_verbose_timing"]

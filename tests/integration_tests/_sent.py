"""`Sent`: the JSON bodies an HTTP face's httpx client sends, recorded by an event hook."""

from __future__ import annotations

import json
from typing import Any

import httpx


class Sent:
    """The JSON bodies the face's httpx client sends (an event hook).

    Example: `chat = ChatOpenAICompatible(base_url=..., **sent.hooks())`, then `sent.last`.
    """

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> None:
        if request.method == "POST" and request.content:
            self.bodies.append(json.loads(request.content))

    @property
    def last(self) -> dict[str, Any]:
        return self.bodies[-1]

    def hooks(self) -> dict[str, Any]:
        return {"client_kwargs": {"event_hooks": {"request": [self]}}}

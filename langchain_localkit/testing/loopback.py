"""What the loopback test servers share: the address, a free port, and `with` support."""

from __future__ import annotations

import socket
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

HOST = "127.0.0.1"
"""The address every test server listens on: loopback only."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Example:
        >>> 1024 < free_port() < 65536
        True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class LoopbackServer(ABC):
    """A server that `start()` starts and `stop()` stops; a `with` block does both."""

    @abstractmethod
    def start(self) -> Self:
        """Start serving; returns the server."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving and release what the server holds."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["HOST", "LoopbackServer", "free_port"]

"""Ctrl-C during ``import_events``: while it runs, SIGINT asks the import to stop (it flushes
and returns its report) instead of raising ``KeyboardInterrupt`` wherever the main thread is;
a second Ctrl-C raises as usual.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator


class _Stop:
    """Set by the import's SIGINT handler: the first Ctrl-C asks the import to stop (it finishes
    the row in hand and flushes), a second one raises ``KeyboardInterrupt`` as usual."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


@contextmanager
def _sigint_as_stop(stop: _Stop) -> Iterator[None]:
    # Only the main thread may install handlers; elsewhere KeyboardInterrupt never arrives anyway.
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, stop.handler)
    except (ValueError, OSError):  # pragma: no cover - e.g. an embedded interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

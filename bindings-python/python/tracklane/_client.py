"""The Python face of the client: construction from config classes, context manager,
asyncio wrappers, exit drain and fork hooks. ``track`` and friends are the native methods
themselves (no Python frame on the hot path).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import weakref
from typing import Any, Callable, Iterable, Optional, Union

from . import _native
from .destinations import DestinationLike, destination_dict
from .errors import DeliveryError

logger = logging.getLogger("tracklane")

#: What the exit drain may take when neither ``exit_timeout`` nor the env var is set (s).
DEFAULT_EXIT_TIMEOUT = 2.0

_live: weakref.WeakSet[Client] = weakref.WeakSet()
_live_lock = threading.Lock()


def _exit_timeout(value: Optional[float], options: dict[str, Any]) -> float:
    ms = options.pop("exit_timeout_ms", None)
    if value is None and ms is not None:
        value = float(ms) / 1000.0
    if value is None:
        env = os.environ.get("TRACKLANE_EXIT_TIMEOUT_MS")
        value = float(env) / 1000.0 if env else DEFAULT_EXIT_TIMEOUT
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise TypeError("exit_timeout must be a non-negative number of seconds")
    return float(value)


def _options(
    destinations: Union[Iterable[DestinationLike], str, None], options: dict[str, Any]
) -> dict[str, Any]:
    opts = dict(options)
    if isinstance(destinations, str):
        opts["destinations"] = destinations  # "webanalyzer,segment": fields from TRACKLANE_* vars
    elif destinations is not None:
        if isinstance(destinations, bytes) or not isinstance(destinations, Iterable):
            raise TypeError("destinations must be a list of destinations")
        opts["destinations"] = [destination_dict(d) for d in destinations]
    return opts


class Client(_native.Client):
    """A tracklane client: ``track`` never blocks, delivery happens in the background.

    ``Client(destinations=[tracklane.WebAnalyzer(...)], flush_interval_ms=5000, ...)``;
    every option (and the destinations) can also come from ``TRACKLANE_*`` variables.
    """

    _exit_timeout: float

    def __new__(
        cls,
        destinations: Union[Iterable[DestinationLike], str, None] = None,
        *,
        on_error: Optional[Callable[[list[dict[str, Any]]], Any]] = None,
        on_delivery: Optional[Callable[[dict[str, Any]], Any]] = None,
        exit_timeout: Optional[float] = None,
        **options: Any,
    ) -> Client:
        opts = _options(destinations, options)
        exit_seconds = _exit_timeout(exit_timeout, opts)
        self = super().__new__(cls, opts, on_error, on_delivery)
        self._exit_timeout = exit_seconds
        return self

    def __init__(
        self,
        destinations: Union[Iterable[DestinationLike], str, None] = None,
        *,
        on_error: Optional[Callable[[list[dict[str, Any]]], Any]] = None,
        on_delivery: Optional[Callable[[dict[str, Any]], Any]] = None,
        exit_timeout: Optional[float] = None,
        **options: Any,
    ) -> None:
        with _live_lock:
            _live.add(self)

    @property
    def exit_timeout(self) -> float:
        return self._exit_timeout

    def flush(self, timeout: float = 10.0, *, raise_on_failure: bool = False) -> dict[str, Any]:
        """Waits (GIL released) for what was queued so far; returns the delivery report.

        With ``raise_on_failure=True`` an incomplete report raises :class:`DeliveryError`.
        """
        report: dict[str, Any] = super().flush(timeout)
        if raise_on_failure and (report["failed"] or report["pending"]):
            raise DeliveryError(
                f"{report['failed']} events failed and {report['pending']} are still pending",
                report=report,
            )
        return report

    def close(self, timeout: Optional[float] = None) -> dict[str, Any]:
        """Flushes (up to ``timeout``, default the exit timeout) and stops the client."""
        report: dict[str, Any] = super().close(self._exit_timeout if timeout is None else timeout)
        with _live_lock:
            _live.discard(self)
        return report

    async def aflush(self, timeout: float = 10.0) -> dict[str, Any]:
        """``flush`` for asyncio code: runs in the loop's executor, never blocks the loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.flush, timeout)

    async def aclose(self, timeout: Optional[float] = None) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.close, timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"tracklane.Client(destinations={self.destination_names!r}, closed={self.closed})"


def close_all_live() -> None:
    """Closes every live client within its exit timeout (the atexit drain)."""
    with _live_lock:
        clients = list(_live)
    for client in clients:
        try:
            if not client.closed:
                client.close()
        except Exception:  # pragma: no cover - a drain must never raise at exit
            logger.exception("tracklane: closing a client at exit failed")


def _at_exit() -> None:
    close_all_live()
    # From here on no background thread attaches to the interpreter.
    _native._python_exiting()


class _ForkAnchor:
    """Kept alive for ``multiprocessing.util.register_after_fork`` (a weak registry)."""


_anchor = _ForkAnchor()


def _install_process_hooks() -> None:
    atexit.register(_at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_native._after_fork_in_child)
    try:
        from multiprocessing import util as mp_util
    except ImportError:  # pragma: no cover
        return

    # multiprocessing children end with os._exit() after running its finalizers, not atexit:
    # drain there too. Registered through register_after_fork because a forked Process
    # clears the finalizer registry before running its after-fork callbacks.
    def _register_drain(_: object) -> None:
        mp_util.Finalize(None, close_all_live, exitpriority=10)

    mp_util.register_after_fork(_anchor, _register_drain)


_install_process_hooks()

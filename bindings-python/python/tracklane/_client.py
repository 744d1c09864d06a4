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
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from . import _import, _native
from ._import_mapping import ANONYMOUS_ID_COLUMN, USER_ID_COLUMN, Field, _Default
from .destinations import DestinationLike, destination_dict
from .errors import DeliveryError

if TYPE_CHECKING:
    from ._import_report import ImportReport
    from ._import_sources import SourceLike

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


def _error_fanout(
    user: Optional[Callable[[list[dict[str, Any]]], Any]], listeners: list[Callable[[list[dict[str, Any]]], Any]]
) -> Callable[[list[dict[str, Any]]], Any]:
    """The client's ``on_error`` hook: tells running imports (``listeners``), then the user's
    callback. Holds no reference to the client, so it never keeps one alive."""

    def on_error(failures: list[dict[str, Any]]) -> Any:
        for listener in list(listeners):
            try:
                listener(failures)
            except Exception:  # pragma: no cover - an import's bookkeeping must never hide the user's hook
                logger.exception("tracklane: recording delivery failures for an import failed")
        return user(failures) if user is not None else None

    return on_error


class Client(_native.Client):
    """A tracklane client: ``track`` never blocks, delivery happens in the background.

    ``Client(destinations=[tracklane.WebAnalyzer(...)], flush_interval_ms=5000, ...)``;
    every option (and the destinations) can also come from ``TRACKLANE_*`` variables.
    """

    _exit_timeout: float
    _error_listeners: list[Callable[[list[dict[str, Any]]], Any]]

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
        if on_error is not None and not callable(on_error):
            raise TypeError("on_error must be callable")
        listeners: list[Callable[[list[dict[str, Any]]], Any]] = []
        self = super().__new__(cls, opts, _error_fanout(on_error, listeners), on_delivery)
        self._exit_timeout = exit_seconds
        self._error_listeners = listeners
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

    def import_events(
        self,
        source: SourceLike,
        *,
        event: Field = "event",
        timestamp: Field = "timestamp",
        user_id: Union[Field, _Default] = USER_ID_COLUMN,
        anonymous_id: Union[Field, _Default] = ANONYMOUS_ID_COLUMN,
        properties: Union[Sequence[str], Callable[[dict[str, Any]], Any], None] = None,
        exclude: Sequence[str] = (),
        context: Union[Mapping[str, Any], Callable[[dict[str, Any]], Any], None] = None,
        message_id: Field = None,
        epoch_unit: str = "auto",
        format: Optional[str] = None,
        progress: bool = True,
        errors: str = "collect",
        flush_timeout: float = 60.0,
        block_timeout: Optional[float] = None,
    ) -> ImportReport:
        """Imports historical events as ``track`` calls and returns an :class:`ImportReport`.

        ``source``: an iterable of dicts, a pandas DataFrame, or the path of a CSV/TSV or JSON
        Lines file (``.gz`` too), read as a stream. ``event``, ``timestamp``, ``user_id``,
        ``anonymous_id`` and ``message_id`` each name a column or are a callable of the row
        (``user_id``/``anonymous_id`` default to those columns when present; ``None`` leaves
        a field out). The remaining
        columns become properties unless ``properties`` lists them (or is a callable) or
        ``exclude`` leaves them out. ``message_id`` names a key column from which ids are
        derived (UUID v5); without it ids are derived from each row's content. Either way, the
        same import run twice sends nothing twice. ``timestamp=None`` stamps events with the
        import time. See ``docs/python.md`` ("Notebook imports") for every option.
        """
        return _import.import_events(
            self,
            source,
            event=event,
            timestamp=timestamp,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties=properties,
            exclude=exclude,
            context=context,
            message_id=message_id,
            epoch_unit=epoch_unit,
            format=format,
            progress=progress,
            errors=errors,
            flush_timeout=flush_timeout,
            block_timeout=block_timeout,
        )

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

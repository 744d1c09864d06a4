"""tracklane: server-side event tracking for Web Analyzer, Koala, Silktide, Tracardi,
Dreamdata and any Segment-spec collector, from one non-blocking ``track`` call.

    client = tracklane.Client(destinations=[tracklane.WebAnalyzer(api_key=..., website_id=1)])
    client.track("purchase", {"order_id": "ORD-1"}, anonymous_id=visitor_id)
    report = client.import_events("events.csv", event="name", timestamp="ts")   # notebooks
"""

from __future__ import annotations

import threading
from typing import Any, Iterable, Optional, Union

from . import _native
from ._client import Client
from ._import_report import FailedRow, ImportReport
from ._native import TrackResult
from .destinations import (
    DestinationLike,
    Dreamdata,
    File,
    Koala,
    Segment,
    Silktide,
    Stdout,
    Tracardi,
    WebAnalyzer,
    destination_dict,
)
from .errors import (
    ClientClosedError,
    ConfigurationError,
    DeliveryError,
    TracklaneError,
    ValidationError,
)

__version__: str = _native.__version__

_default: Optional[Client] = None
_default_key: Any = None
_default_lock = threading.Lock()


def init(destinations: Union[Iterable[DestinationLike], str, None] = None, **options: Any) -> Client:
    """Creates the module-level client used by :func:`track_event`.

    Calling it again (a re-run notebook cell) returns the same client when the configuration
    is identical, and otherwise closes the previous client before replacing it: never two.
    """
    global _default, _default_key
    dest_list = destinations if destinations is None or isinstance(destinations, str) else list(destinations)
    key = (
        [destination_dict(d) for d in dest_list] if isinstance(dest_list, list) else dest_list,
        options,
    )
    with _default_lock:
        if _default is not None and not _default.closed and _default_key == key:
            return _default
        previous = _default
        _default = Client(dest_list, **options)
        _default_key = key
    if previous is not None:
        previous.close()
    return _default


def get_client() -> Client:
    """The module-level client; built from ``TRACKLANE_*`` variables if ``init`` was not called."""
    client = _default
    if client is None or client.closed:
        with _default_lock:
            client = _default
        if client is None or client.closed:
            return init()
    return client


def track_event(
    name: str,
    payload: Optional[dict[str, Any]] = None,
    visitor_id: Optional[str] = None,
    **kwargs: Any,
) -> TrackResult:
    """Drop-in for the Web Analyzer snippet's ``track_event``: ``visitor_id`` is the
    anonymous id, ``payload`` the properties. Never blocks, never raises for a rule."""
    return get_client().track(name, payload, anonymous_id=visitor_id, **kwargs)


def track(event: str, properties: Optional[dict[str, Any]] = None, **kwargs: Any) -> TrackResult:
    return get_client().track(event, properties, **kwargs)


def identify(user_id: Optional[str] = None, traits: Optional[dict[str, Any]] = None, **kwargs: Any) -> TrackResult:
    return get_client().identify(user_id, traits, **kwargs)


def flush(timeout: float = 10.0, *, raise_on_failure: bool = False) -> Optional[dict[str, Any]]:
    """Flushes the module-level client, if any (``raise_on_failure`` as in ``Client.flush``)."""
    client = _default
    if client is None or client.closed:
        return None
    return client.flush(timeout, raise_on_failure=raise_on_failure)


def close(timeout: Optional[float] = None) -> Optional[dict[str, Any]]:
    """Closes the module-level client, if any; a later ``init`` starts a new one."""
    global _default, _default_key
    with _default_lock:
        client, _default, _default_key = _default, None, None
    return client.close(timeout) if client is not None else None


__all__ = [
    "Client",
    "TrackResult",
    "ImportReport",
    "FailedRow",
    "WebAnalyzer",
    "Koala",
    "Silktide",
    "Tracardi",
    "Dreamdata",
    "Segment",
    "File",
    "Stdout",
    "TracklaneError",
    "ConfigurationError",
    "ValidationError",
    "ClientClosedError",
    "DeliveryError",
    "init",
    "get_client",
    "track_event",
    "track",
    "identify",
    "flush",
    "close",
]

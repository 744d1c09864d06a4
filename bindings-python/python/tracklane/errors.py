"""The tracklane exception hierarchy.

Every error carries the core's stable ``code`` (``webanalyzer.payload.too_many_keys``,
``config.segment.invalid``, ``client.closed``), the ``destination`` it concerns and the
``field`` at fault. Messages never contain an API key.
"""

from __future__ import annotations

from typing import Any


class TracklaneError(Exception):
    """Base class of every tracklane error."""

    code: str
    destination: str
    field: str

    def __init__(
        self, message: str, *, code: str = "tracklane.error", destination: str = "", field: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.destination = destination
        self.field = field

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), self.message, self.code, self.destination, self.field))


def _rebuild(cls: type, message: str, code: str, destination: str, field: str) -> TracklaneError:
    return cls(message, code=code, destination=destination, field=field)  # type: ignore[no-any-return]


class ConfigurationError(TracklaneError, ValueError):
    """The client cannot run with this configuration (missing key, bad URL, unknown option)."""


class ValidationError(TracklaneError, ValueError):
    """An event broke a rule: a neutral-message rule (destination ``message``) or a collector's."""


class ClientClosedError(TracklaneError, RuntimeError):
    """A call on a client after ``close()``."""


class DeliveryError(TracklaneError):
    """``flush(raise_on_failure=True)`` found events that failed or were still pending."""

    def __init__(self, message: str, *, report: Any = None, code: str = "delivery.incomplete") -> None:
        super().__init__(message, code=code, destination="", field="")
        self.report = report


__all__ = [
    "TracklaneError",
    "ConfigurationError",
    "ValidationError",
    "ClientClosedError",
    "DeliveryError",
]

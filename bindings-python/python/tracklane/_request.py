"""What the WSGI and ASGI middleware share: the visitor cookie and the per-request tracker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

if TYPE_CHECKING:
    from ._client import Client
    from ._native import TrackResult

#: Default visitor cookie name, the same as the Express middleware's.
DEFAULT_COOKIE_NAME = "tracklane_id"
#: One year, as in the Express middleware (and Dreamdata's own `dd_anonymous_id` guidance).
DEFAULT_COOKIE_MAX_AGE = 365 * 24 * 3600

ClientSource = Union["Client", Callable[[], "Client"], None]


@dataclass(frozen=True)
class CookieOptions:
    name: str = DEFAULT_COOKIE_NAME
    domain: Optional[str] = None
    path: str = "/"
    max_age: int = DEFAULT_COOKIE_MAX_AGE
    same_site: Optional[str] = "Lax"
    #: ``None``: Secure exactly when the request came over https.
    secure: Optional[bool] = None
    http_only: bool = True

    def header(self, value: str, https: bool) -> str:
        parts = [f"{self.name}={value}", f"Path={self.path}", f"Max-Age={self.max_age}"]
        if self.domain:
            parts.append(f"Domain={self.domain}")
        if self.same_site:
            parts.append(f"SameSite={self.same_site}")
        if self.secure if self.secure is not None else https:
            parts.append("Secure")
        if self.http_only:
            parts.append("HttpOnly")
        return "; ".join(parts)


def read_visitor(cookie_header: str, name: str) -> Optional[str]:
    """The visitor id from a Cookie header, if present and a UUID (anything else is replaced)."""
    if not cookie_header:
        return None
    try:
        jar: SimpleCookie = SimpleCookie()
        jar.load(cookie_header)
    except Exception:
        return None
    morsel = jar.get(name)
    if morsel is None:
        return None
    try:
        return str(uuid.UUID(morsel.value))
    except ValueError:
        return None


def client_ip(remote: Optional[str], forwarded_for: Optional[str], trust_proxy: bool) -> Optional[str]:
    if trust_proxy and forwarded_for:
        first = forwarded_for.split(",")[0].strip()
        if first:
            return first
    return remote or None


def resolve_client(source: ClientSource) -> Client:
    if source is None:
        from . import get_client

        return get_client()
    if callable(source) and not hasattr(source, "track"):
        return source()
    return source  # type: ignore[return-value]


class RequestTracker:
    """Tracks on behalf of one request: the visitor id, ip, user agent, url and referrer are
    bound, so ``tracker.track("lead_created", {...})`` is all a handler writes."""

    __slots__ = ("_source", "anonymous_id", "context", "is_new_visitor")

    def __init__(
        self, source: ClientSource, anonymous_id: str, context: dict[str, Any], is_new_visitor: bool
    ) -> None:
        self._source = source
        self.anonymous_id = anonymous_id
        self.context = context
        self.is_new_visitor = is_new_visitor

    @property
    def client(self) -> Client:
        return resolve_client(self._source)

    def _context(self, extra: Optional[dict[str, Any]]) -> dict[str, Any]:
        if not extra:
            return self.context
        merged = dict(self.context)
        merged.update(extra)
        return merged

    def track(
        self, event: str, properties: Optional[dict[str, Any]] = None, *, context: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> TrackResult:
        kwargs.setdefault("anonymous_id", self.anonymous_id)
        return self.client.track(event, properties, context=self._context(context), **kwargs)

    def identify(
        self, user_id: Optional[str] = None, traits: Optional[dict[str, Any]] = None, *,
        context: Optional[dict[str, Any]] = None, **kwargs: Any,
    ) -> TrackResult:
        kwargs.setdefault("anonymous_id", self.anonymous_id)
        return self.client.identify(user_id, traits, context=self._context(context), **kwargs)

    def page(
        self, name: Optional[str] = None, properties: Optional[dict[str, Any]] = None, *,
        context: Optional[dict[str, Any]] = None, **kwargs: Any,
    ) -> TrackResult:
        kwargs.setdefault("anonymous_id", self.anonymous_id)
        return self.client.page(name, properties, context=self._context(context), **kwargs)

    def __repr__(self) -> str:
        return f"RequestTracker(anonymous_id={self.anonymous_id!r}, url={self.context.get('url')!r})"

"""What the WSGI and ASGI middleware share: the visitor cookie and the per-request tracker."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, Union
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from ._client import Client
    from ._native import TrackResult

#: Default visitor cookie name, the same as the Express middleware's.
DEFAULT_COOKIE_NAME = "tracklane_id"
#: One year, as in the Express middleware (and Dreamdata's own `dd_anonymous_id` guidance).
DEFAULT_COOKIE_MAX_AGE = 365 * 24 * 3600
#: Longest cookie value taken as a visitor id: the core's limit on ids, as in the Express middleware.
MAX_ID_CHARS = 255
_CONTROL = re.compile("[\x00-\x1f\x7f]")
#: What ``encodeURIComponent`` leaves as it is, so both middlewares write the same cookie.
_COOKIE_SAFE = "-_.!~*'()"

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
        parts = [f"{self.name}={quote(value, safe=_COOKIE_SAFE)}", f"Path={self.path}", f"Max-Age={self.max_age}"]
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
    """The visitor id in cookie ``name`` of a Cookie header, if it can serve as one.

    The browser's own tag may have set it (Koala's ``ko_id``, Dreamdata's ``dd_anonymous_id``),
    in a form of its own: any value is kept as it is, unless empty, over ``MAX_ID_CHARS``
    characters or holding control characters (the Express middleware reads it the same way).
    The header is split by hand: ``http.cookies.SimpleCookie`` gives up on the whole header at
    the first cookie it finds malformed (a JSON value, a space), which would lose the visitor
    id of every request that carries such a cookie from another script.
    """
    for part in cookie_header.split(";") if cookie_header else ():
        key, eq, value = part.partition("=")
        if not eq or key.strip() != name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        try:
            value = unquote(value, errors="strict")
        except UnicodeDecodeError:
            return None
        return usable_id(value)
    return None


def usable_id(value: str) -> Optional[str]:
    """``value`` if it can serve as a visitor id: non-empty, at most ``MAX_ID_CHARS``, no control characters."""
    if not value or len(value) > MAX_ID_CHARS or _CONTROL.search(value):
        return None
    return value


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

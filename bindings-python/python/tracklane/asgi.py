"""ASGI middleware (Starlette, FastAPI, any ASGI app): a visitor cookie and a per-request tracker.

    app.add_middleware(tracklane.asgi.TracklaneMiddleware)      # Starlette / FastAPI
    ...
    tracklane.asgi.get_tracker(request).track("lead_created", {"plan": "pro"})

The tracker is stored at ``scope["state"]["tracklane"]`` (Starlette: ``request.state.tracklane``).
``track`` only enqueues, so calling it from ``async def`` handlers never blocks the loop.
"""

from __future__ import annotations

import uuid
from typing import Any, Awaitable, Callable, MutableMapping, Optional

from ._request import (
    DEFAULT_COOKIE_MAX_AGE,
    DEFAULT_COOKIE_NAME,
    ClientSource,
    CookieOptions,
    RequestTracker,
    client_ip,
    read_visitor,
)

STATE_KEY = "tracklane"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out and key != "cookie" else (
            f"{out[key]}; {text}" if key in out else text
        )
    return out


def _url(scope: Scope, headers: dict[str, str], trust_proxy: bool) -> str:
    scheme = scope.get("scheme", "http")
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    if trust_proxy:
        scheme = headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
        host = headers.get("x-forwarded-host", host).split(",")[0].strip()
    path = scope.get("root_path", "") + scope.get("path", "/")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


class TracklaneMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        client: ClientSource = None,
        *,
        cookie_name: str = DEFAULT_COOKIE_NAME,
        cookie_domain: Optional[str] = None,
        cookie_path: str = "/",
        cookie_max_age: int = DEFAULT_COOKIE_MAX_AGE,
        cookie_same_site: Optional[str] = "Lax",
        cookie_secure: Optional[bool] = None,
        cookie_http_only: bool = True,
        trust_proxy: bool = False,
    ) -> None:
        self.app = app
        self.client = client
        self.cookie = CookieOptions(
            cookie_name, cookie_domain, cookie_path, cookie_max_age, cookie_same_site, cookie_secure,
            cookie_http_only,
        )
        self.trust_proxy = trust_proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        visitor = read_visitor(headers.get("cookie", ""), self.cookie.name)
        is_new = visitor is None
        if visitor is None:
            visitor = str(uuid.uuid4())
        context: dict[str, Any] = {"url": _url(scope, headers, self.trust_proxy)}
        peer = scope.get("client")
        ip = client_ip(peer[0] if peer else None, headers.get("x-forwarded-for"), self.trust_proxy)
        for key, value in (("ip", ip), ("user_agent", headers.get("user-agent")), ("referrer", headers.get("referer"))):
            if value:
                context[key] = value
        scope.setdefault("state", {})[STATE_KEY] = RequestTracker(self.client, visitor, context, is_new)
        if not is_new:
            await self.app(scope, receive, send)
            return
        cookie = self.cookie.header(visitor, context["url"].startswith("https:")).encode("latin-1")

        async def send_with_cookie(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [(b"set-cookie", cookie)]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def get_tracker(request_or_scope: Any) -> RequestTracker:
    """The tracker for this request: pass a Starlette ``Request`` or the raw ASGI scope."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    try:
        return scope["state"][STATE_KEY]  # type: ignore[no-any-return]
    except (KeyError, TypeError):
        raise LookupError("tracklane.asgi.TracklaneMiddleware is not installed for this app") from None


__all__ = ["TracklaneMiddleware", "get_tracker", "RequestTracker", "STATE_KEY"]

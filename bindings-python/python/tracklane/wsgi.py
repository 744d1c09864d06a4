"""WSGI middleware (Flask, Django, any WSGI app): a visitor cookie and a per-request tracker.

    app.wsgi_app = tracklane.wsgi.TracklaneMiddleware(app.wsgi_app)
    ...
    tracklane.wsgi.get_tracker(request.environ).track("lead_created", {"plan": "pro"})
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Iterable, Optional

from ._request import (
    DEFAULT_COOKIE_MAX_AGE,
    DEFAULT_COOKIE_NAME,
    ClientSource,
    CookieOptions,
    RequestTracker,
    client_ip,
    read_visitor,
)

ENVIRON_KEY = "tracklane.tracker"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _url(environ: dict[str, Any], trust_proxy: bool) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    if trust_proxy:
        scheme = (environ.get("HTTP_X_FORWARDED_PROTO") or scheme).split(",")[0].strip()
        host = (environ.get("HTTP_X_FORWARDED_HOST") or host).split(",")[0].strip()
    path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
    query = environ.get("QUERY_STRING")
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


class TracklaneMiddleware:
    def __init__(
        self,
        app: WSGIApp,
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

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        visitor = read_visitor(environ.get("HTTP_COOKIE", ""), self.cookie.name)
        is_new = visitor is None
        if visitor is None:
            visitor = str(uuid.uuid4())
        context: dict[str, Any] = {"url": _url(environ, self.trust_proxy)}
        ip = client_ip(environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"), self.trust_proxy)
        for key, value in (
            ("ip", ip),
            ("user_agent", environ.get("HTTP_USER_AGENT")),
            ("referrer", environ.get("HTTP_REFERER")),
        ):
            if value:
                context[key] = value
        environ[ENVIRON_KEY] = RequestTracker(self.client, visitor, context, is_new)
        if not is_new:
            return self.app(environ, start_response)
        https = context["url"].startswith("https:")
        cookie = self.cookie.header(visitor, https)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = list(headers) + [("Set-Cookie", cookie)]
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        return self.app(environ, start)


def get_tracker(environ: dict[str, Any]) -> RequestTracker:
    """The tracker the middleware bound to this request (``request.environ`` in Flask)."""
    try:
        return environ[ENVIRON_KEY]  # type: ignore[no-any-return]
    except KeyError:
        raise LookupError("tracklane.wsgi.TracklaneMiddleware is not installed for this app") from None


__all__ = ["TracklaneMiddleware", "get_tracker", "RequestTracker", "ENVIRON_KEY"]

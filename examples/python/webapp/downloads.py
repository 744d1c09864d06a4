"""Silktide's "How to record an event from a server": a ``download`` event for a file the web
server hands out, described by the visitor's request.

Silktide derives its short-lived visitor id from the ``ip`` and ``userAgent`` (both required),
wants the page's ``url`` and the browser's ``viewWidth``: all four come from the incoming
request. The ``download`` event carries the file's own ``url``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from flask import Blueprint, request, send_from_directory

from .tracking import tracking

bp = Blueprint("downloads", __name__)

FILES = Path(__file__).parent / "files"


def view_width() -> Optional[int]:
    """The visitor's view width: a Client Hint header (Chromium, after ``Accept-CH``) or the
    ``vw`` query parameter a page script can add to its download links."""
    for raw in (
        request.headers.get("Sec-CH-Viewport-Width"),
        request.headers.get("Viewport-Width"),
        request.args.get("vw"),
    ):
        if raw and raw.strip().isdigit():
            return int(raw)
    return None


@bp.get("/downloads/<path:filename>")
def download(filename: str) -> Any:
    response = send_from_directory(FILES, filename)  # 404 for a file we do not have: no event
    context: dict[str, Any] = {
        # Behind a proxy, wrap the app in werkzeug's ProxyFix so this is the visitor's address.
        "ip": request.remote_addr,
        "user_agent": request.user_agent.string or None,
        # The page the link was on; a direct download has only the file's own URL.
        "url": request.referrer or request.base_url,
    }
    width = view_width()
    if width is not None:
        context["view_width"] = width
    tracking().downloads.track("download", {"url": request.base_url}, context=context)
    return response

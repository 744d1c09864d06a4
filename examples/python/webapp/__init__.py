"""A Flask shop on tracklane: the Web Analyzer docs' Laravel examples (Stripe checkout webhook,
idempotent webhook, contact form, visitor-id hand-off through Stripe metadata) and Silktide's
server-side download event.

    create_app()                      # clients from TRACKLANE_* variables
    python -m webapp --port 0         # serve it (from examples/python)
    flask --app webapp run            # or with Flask's own server
"""

from __future__ import annotations

from typing import Optional

from flask import Flask, Response, render_template

from . import checkout, contact, downloads, stripe_webhooks
from .tracking import EXTENSION, Tracking


def create_app(tracking: Optional[Tracking] = None) -> Flask:
    app = Flask(__name__)
    app.extensions[EXTENSION] = tracking or Tracking.from_environment()
    # Stands in for the ContactMessage table of the Laravel example.
    app.config["CONTACT_MESSAGES"] = []
    for blueprint in (checkout.bp, contact.bp, stripe_webhooks.bp, downloads.bp):
        app.register_blueprint(blueprint)

    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    @app.after_request
    def ask_for_viewport_width(response: Response) -> Response:
        # Chromium then sends Sec-CH-Viewport-Width with later requests: Silktide's viewWidth.
        if response.mimetype == "text/html":
            response.headers["Accept-CH"] = "Sec-CH-Viewport-Width"
        return response

    return app


__all__ = ["create_app", "Tracking"]

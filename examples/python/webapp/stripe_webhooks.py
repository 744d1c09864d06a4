"""The Web Analyzer docs' Stripe webhook handlers (Laravel): ``handleCheckoutCompleted`` and
the idempotent ``handleWebhook``.

Idempotency: the Laravel handler remembered each webhook's event id in the cache for 48 hours
and answered ``{"ok": true, "skipped": true}`` to a replay. Here the Stripe event id is the
event's ``message_id``; tracklane drops a message id it saw within the last 48 hours before
queueing it and says so (``status == "duplicate"``), so the cache check is one comparison.
The window is per process (an in-memory store): with several worker processes a replay that
lands on another worker is not recognised.

A production handler also verifies the ``Stripe-Signature`` header
(``stripe.Webhook.construct_event``) before trusting the body; there is no real Stripe here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

import tracklane
from flask import Blueprint, jsonify, request

from .tracking import client_visitor_id, tracking

bp = Blueprint("stripe_webhooks", __name__, url_prefix="/webhooks/stripe")


def format_amount(amount_total: int) -> str:
    """Stripe amounts are integer cents: ``4999`` → ``"49.99"`` (exact, no float rounding; and
    unlike PHP's ``number_format`` no thousands comma in ``"1234.50"``)."""
    return f"{Decimal(amount_total) / 100:.2f}"


def answer(result: tracklane.TrackResult) -> Any:
    if result.status == "duplicate":
        return jsonify(ok=True, skipped=True)
    # Any other outcome (queued, or rejected and logged) is still a 200: a non-2xx answer would
    # make Stripe send the webhook again, and analytics must never fail a payment webhook.
    return jsonify(ok=True)


@bp.post("/checkout-completed")
def handle_checkout_completed() -> Any:
    event = request.get_json(force=True)
    session = event["data"]["object"]
    metadata = session.get("metadata") or {}
    page_url: Optional[str] = metadata.get("page_url") or None
    payload = {
        "order_id": session["id"],
        "amount": format_amount(session["amount_total"]),
        "currency": session["currency"].upper(),
    }
    if session.get("customer_email"):
        payload["customer"] = session["customer_email"]
    result = tracking().analytics.track(
        "purchase",
        payload,
        anonymous_id=client_visitor_id(metadata.get("visitor_id")),
        context={"url": page_url} if page_url else None,
        message_id=event.get("id"),  # a replayed webhook is a duplicate, as below
    )
    return answer(result)


@bp.post("")
def handle_webhook() -> Any:
    event = request.get_json(force=True)
    result = tracking().analytics.track(
        "purchase",
        {"order_id": event["data"]["object"]["id"]},
        message_id=event["id"],
    )
    return answer(result)

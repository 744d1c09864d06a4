"""The visitor-id hand-off (Web Analyzer docs, "Linking Server Events to Visitors").

Step 2: the checkout page carries the client-side visitor id (``localStorage.ot_vid``) in a
hidden ``visitor_id`` field. Step 3: the server puts it, and the page the visitor came from,
into the Stripe Checkout session's metadata. Step 4 is the webhook (``stripe_webhooks.py``),
which finds both in the completed session and links the purchase to the visitor.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request, url_for

from .tracking import client_visitor_id

bp = Blueprint("checkout", __name__)

#: The Stripe price the demo sells.
PRICE_ID = "price_pro_monthly"


@bp.get("/checkout")
def checkout_page() -> str:
    return render_template("checkout.html")


@bp.post("/checkout")
def create_checkout_session() -> Any:
    """What ``\\Stripe\\Checkout\\Session::create([...])`` was given, built from the posted form."""
    params = {
        "line_items": [{"price": request.form.get("price", PRICE_ID), "quantity": 1}],
        "mode": "payment",
        "success_url": url_for(".success", _external=True),
        "cancel_url": url_for(".cancel", _external=True),
        # Stripe metadata values are strings; "" stands for "unknown".
        "metadata": {
            "visitor_id": client_visitor_id(request.form.get("visitor_id")) or "",
            "page_url": request.referrer or "",
        },
    }
    # A real shop: session = stripe.checkout.Session.create(**params); return redirect(session.url, 303)
    return jsonify(params)


@bp.get("/checkout/success")
def success() -> str:
    return "Thank you for your order."


@bp.get("/checkout/cancel")
def cancel() -> str:
    return "Your order was cancelled."

"""Tracardi's "Event tracking" guide, on tracklane: the three ways it describes to send events.

1. ``POST /track`` with a session and a profile. The first visit has no profile id: Tracardi
   creates a profile and answers with its id. tracklane remembers it for the session (later
   requests of the session carry it without you doing anything) and hands it to the
   application through ``on_delivery``, so the application can store it with the visitor and
   pass it as ``anonymous_id`` on the next visit (a new session).
2. ``POST /track?profile_less=true``: a session but no profile (``Tracardi(profile_less=True)``).
3. ``POST /collect/{EVENT-TYPE}/{SOURCE-ID}``: the event's properties are the whole body, no
   session, no profile (``Tracardi(collect=True)``).

    TRACKLANE_TRACARDI_BASE_URL=https://tracardi.example.com TRACKLANE_TRACARDI_SOURCE_ID=... \\
        python examples/python/tracardi_tracking.py
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

import tracklane


class ProfileIds:
    """Learns the profile id Tracardi assigned to each event (by message id) from deliveries."""

    def __init__(self) -> None:
        self.by_message: dict[str, str] = {}

    def on_delivery(self, delivery: dict[str, Any]) -> None:
        if delivery["profile_id"]:
            for message_id in delivery["message_ids"]:
                self.by_message[message_id] = delivery["profile_id"]


def first_visit(client: tracklane.Client, profile_ids: ProfileIds) -> tuple[str, str]:
    """A new visitor: no profile id yet. Returns (session id, the profile id Tracardi assigned)."""
    session_id = str(uuid.uuid4())  # "If this is the first visit, you should generate id, preferably uuid4"
    context = {"device": "iPhone X"}
    purchase = client.track(
        "purchase-order", {"product": "Nike shoes", "quantity": 1}, session_id=session_id, context=context
    )
    client.track("page-view", session_id=session_id, context=context)
    client.flush(30)
    profile_id = profile_ids.by_message[purchase.message_id]
    # Same visit, later: tracklane attaches the profile id Tracardi gave this session.
    client.track("add-to-wishlist", {"product": "Nike socks"}, session_id=session_id, context=context)
    return session_id, profile_id


def next_visit(client: tracklane.Client, profile_id: str) -> str:
    """The visitor comes back: a new session, the stored profile id."""
    session_id = str(uuid.uuid4())
    client.track("page-view", session_id=session_id, anonymous_id=profile_id, context={"device": "iPhone X"})
    return session_id


def coupon_received_profile_less(client: tracklane.Client, coupon: str) -> tracklane.TrackResult:
    """We know the coupon, not the customer: a session but no profile."""
    return client.track("coupon-received", {"coupon": coupon}, session_id=str(uuid.uuid4()))


def coupon_received_collect(client: tracklane.Client, coupon: str, customer_ref: str) -> tracklane.TrackResult:
    """The same event through ``/collect``: its properties are the whole body."""
    return client.track("coupon-received", {"coupon": coupon, "customer_ref": customer_ref})


def main() -> int:
    profile_ids = ProfileIds()
    # Base URL and source id from TRACKLANE_TRACARDI_*; the flags and options are per client.
    with tracklane.Client(
        [tracklane.Tracardi(options={"debugger": False, "saveEvents": True})], on_delivery=profile_ids.on_delivery
    ) as client:
        _, profile_id = first_visit(client, profile_ids)
        print(f"profile_id={profile_id}")
        next_visit(client, profile_id)
        tracked = client.flush(30)
    with tracklane.Client([tracklane.Tracardi(profile_less=True)]) as client:
        coupon_received_profile_less(client, "SPRING-24")
        profile_less = client.flush(30)
    with tracklane.Client([tracklane.Tracardi(collect=True)]) as client:
        coupon_received_collect(client, "SPRING-24", "crm-1001")
        collected = client.flush(30)
    delivered = [tracked["delivered"], profile_less["delivered"], collected["delivered"]]
    print(f"delivered={delivered}")
    return 0 if delivered == [2, 1, 1] else 1


if __name__ == "__main__":
    sys.exit(main())

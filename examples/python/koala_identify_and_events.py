"""Koala's "Sending events server-side" guide, on tracklane: identify a visitor by email, then
send custom events for the same profile.

Both curl examples post to ``/web/projects/<public key>/batch``: one ``{profile_id, email}`` to
identify, one ``{profile_id, events: [...]}`` with ``message_id``, ``type``, ``event``,
``properties`` and ``sent_at``. tracklane builds both from ``identify`` and ``track``: the
visitor's ``profile_id`` (the ``ko_id`` cookie, a UUID v4) is the ``anonymous_id``, and the
``message_id`` you choose is Koala's idempotency key, deduplicated in the client as well, so
a job that runs twice does not send the event twice.

    TRACKLANE_KOALA_PUBLIC_KEY=... python examples/python/koala_identify_and_events.py \\
        [PROFILE_ID] [EMAIL]
"""

from __future__ import annotations

import sys
import uuid

import tracklane


def identify_visitor(client: tracklane.Client, profile_id: str, email: str) -> tracklane.TrackResult:
    """The visitor logged in: tie the anonymous Koala profile to a known email."""
    return client.identify(traits={"email": email}, anonymous_id=profile_id)


def track_account_created(client: tracklane.Client, profile_id: str, account_id: str) -> tracklane.TrackResult:
    # One account is created once: its id makes a stable idempotency key.
    return client.track(
        "Created Account",
        {"account_id": account_id},
        anonymous_id=profile_id,
        message_id=f"account-created-{account_id}",
    )


def main(argv: list[str]) -> int:
    # Respect the visitor's ko_id if we have it; otherwise a new UUID v4, as the guide asks.
    profile_id = argv[0] if argv else str(uuid.uuid4())
    email = argv[1] if len(argv) > 1 else "jane@example.com"
    with tracklane.Client([tracklane.Koala()]) as client:
        print(f"identify: {identify_visitor(client, profile_id, email).status}")
        print(f"Created Account: {track_account_created(client, profile_id, 'acct-42').status}")
        # A retried job replays the same event: dropped here, before it is queued.
        print(f"Created Account again: {track_account_created(client, profile_id, 'acct-42').status}")
        report = client.flush(30)
    print(f"profile_id={profile_id} delivered={report['delivered']}")
    return 0 if report["delivered"] == 2 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Dreamdata's "Server Side Tracking" guide, on tracklane: identify, track and alias in one
``/v1/batch`` request, and the cookieless (company-level) form.

The guide's batch JSON is what ``identify`` and ``track`` produce: tracklane adds each
``messageId``, the ``timestamp``, ``sentAt``, ``context.library`` and the HTTP Basic header
(the source API key as user, empty password, no base64 by hand), and keeps each request under
Dreamdata's 500 KB. The context keys are tracklane's neutral ones (``user_agent``, ``url``,
``referrer``...), written out in Segment spelling (``userAgent``, ``page.url``...).

    TRACKLANE_DREAMDATA_API_KEY=... python examples/python/dreamdata_tracking.py
"""

from __future__ import annotations

import sys

import tracklane

CAMPAIGN = {"name": "my_campaign", "source": "demo", "medium": "calendly", "term": "", "content": ""}


def identify_user(client: tracklane.Client) -> tracklane.TrackResult:
    return client.identify(
        "019mr8mf4r",
        {"email": "jake@yahoo.com", "name": "Jake Peterson", "age": 26},
        context={"ip": "24.5.68.47", "campaign": CAMPAIGN},
        timestamp="2012-12-02T00:30:08.276Z",
    )


def track_song_played(client: tracklane.Client) -> tracklane.TrackResult:
    return client.track(
        "Song Played",
        {"name": "Fallin for You", "artist": "Dierks Bentley"},
        user_id="019mr8mf4r",
        context={
            "ip": "24.5.68.47",
            "url": "http://localhost:3000/test/path?param=a088fb06-a208-4552-b4b7-28fb7f95aeaf",
            "referrer": "http://localhost:3000/test",
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
            "campaign": CAMPAIGN,
        },
        timestamp="2012-12-02T00:30:12.984Z",
    )


def link_login(client: tracklane.Client, anonymous_id: str, user_id: str) -> tracklane.TrackResult:
    """The visitor logged in: connect their anonymous id to their user id."""
    return client.alias(anonymous_id, user_id)


def track_cookieless(client: tracklane.Client, ip: str) -> tracklane.TrackResult:
    """Company-level attribution only (by IP lookup): the static ``cookieless`` anonymous id."""
    return client.track("Page Viewed", anonymous_id="cookieless", context={"ip": ip})


def main() -> int:
    with tracklane.Client([tracklane.Dreamdata()]) as client:
        identify_user(client)
        track_song_played(client)
        link_login(client, "anon-xyz-789", "user-123")
        track_cookieless(client, "203.0.113.42")
        report = client.flush(30)
    print(f"delivered={report['delivered']}")
    return 0 if report["delivered"] == 4 else 1


if __name__ == "__main__":
    sys.exit(main())

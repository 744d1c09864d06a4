"""The Web Analyzer docs' "Python (requests)" ``track_event`` helper, on tracklane.

The original built the body, posted it with ``requests`` (10 s timeout) and raised on any HTTP
error, on the caller's thread. ``tracklane.track_event`` takes the same arguments but only
queues the event: batching, retries and rate-limit pacing happen in the background, and a
delivery problem never raises into the caller (it is logged and counted instead).

Configuration comes from the environment, so the key is never in code:

    TRACKLANE_DESTINATIONS=webanalyzer
    TRACKLANE_WEBANALYZER_API_KEY=...        # was WEBANALYZER_API_KEY
    TRACKLANE_WEBANALYZER_WEBSITE_ID=1       # was WEBSITE_ID = 1
    TRACKLANE_WEBANALYZER_BASE_URL=...       # optional, was BASE_URL

    python examples/python/track_event.py [VISITOR_ID]
"""

from __future__ import annotations

import sys

from tracklane import flush, track_event


def main(argv: list[str]) -> int:
    visitor_id = argv[0] if argv else None
    # Usage, exactly as in the docs.
    result = track_event(
        "invoice_paid",
        {"invoice_id": "INV-2024-001", "amount": "149.99", "currency": "USD"},
        visitor_id=visitor_id,
    )
    print(f"{result.status} {result.message_id}")
    # A short-lived script waits for the background sender before it exits (the exit hook
    # would drain too, for at most TRACKLANE_EXIT_TIMEOUT_MS, but could not report).
    report = flush()
    print(f"delivered={report['delivered'] if report else 0}")
    return 0 if result and report and not report["failed"] and not report["pending"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

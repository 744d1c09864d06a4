"""The Web Analyzer docs' "Ruby (net/http)" ``track_event``, ported to Python on tracklane.

The Ruby helper takes keyword arguments (``payload: {}, visitor_id: nil``), posts the event
and raises ``"Tracking failed: <code> <body>"`` when the answer is not a success. Ported:

- the same keyword-only signature;
- an event the collector would refuse (an over-long name, an 11th payload key, a visitor id
  that is not a UUID) raises at once, because the client runs in ``strict`` mode: that is the
  "fix the request" class of error, caught before anything is sent;
- delivery happens in the background, so an HTTP failure cannot be raised by the call itself:
  ``flush(raise_on_failure=True)`` raises ``DeliveryError`` with the status and reason instead.

    TRACKLANE_WEBANALYZER_API_KEY=... TRACKLANE_WEBANALYZER_WEBSITE_ID=1 \\
        python examples/python/ruby_track_event.py
"""

from __future__ import annotations

import sys
from typing import Any, Optional

import tracklane


class TrackingFailed(Exception):
    pass


def track_event(name: str, *, payload: Optional[dict[str, Any]] = None, visitor_id: Optional[str] = None) -> str:
    """Queues the event and returns its message id; raises ``TrackingFailed`` for a bad event."""
    try:
        result = tracklane.track_event(name, payload or {}, visitor_id=visitor_id)
    except tracklane.ValidationError as e:
        raise TrackingFailed(f"Tracking failed: {e.code} {e}") from e
    return result.message_id


def main() -> int:
    tracklane.init([tracklane.WebAnalyzer()], strict=True)
    # Usage, as in the docs.
    message_id = track_event("subscription_renewed", payload={"plan": "pro", "amount": "14.99"})
    print(f"queued {message_id}")
    try:
        track_event("subscription_renewed", payload={f"key_{i}": "x" for i in range(11)})
    except TrackingFailed as e:
        print(e)
    try:
        tracklane.get_client().flush(30, raise_on_failure=True)
    except tracklane.DeliveryError as e:
        for failure in e.report["failures"]:
            print(f"Tracking failed: {failure['status']} {failure['reason']}", file=sys.stderr)
        if e.report["pending"]:
            print(f"Tracking failed: {e.report['pending']} events still pending", file=sys.stderr)
        return 1
    print("delivered")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Web Analyzer docs' "Retry with exponential backoff" helper, on tracklane.

The original ``track_with_retry`` looped over attempts, slept ``2**attempt`` seconds plus
jitter (at least ``Retry-After``) on 429/500/502/503 and raised on other errors, blocking its
caller for the whole time. In tracklane that policy is built in, so the helper is one call:

    client.track(name, payload)

and the sender, in the background, retries 408/429/5xx and network errors with exponential
backoff and full jitter, never sooner than ``Retry-After``, and never retries 400/401/402/403/404.
What the loop's ``max_retries`` bounded is configured once on the client:

    TRACKLANE_RETRY_BASE_MS (1000)  TRACKLANE_RETRY_CAP_MS (60000)
    TRACKLANE_MAX_RETRY_DURATION_MS (2 hours)

``flush(raise_on_failure=True)`` is where a caller who wants to know (a script, a job) learns
that an event failed for good: it raises ``DeliveryError`` with every failure and its status.

    TRACKLANE_WEBANALYZER_API_KEY=... TRACKLANE_WEBANALYZER_WEBSITE_ID=1 \\
        python examples/python/retry_with_backoff.py
"""

from __future__ import annotations

import sys

import tracklane


def track_with_retry(client: tracklane.Client, name: str, payload: dict[str, str]) -> tracklane.TrackResult:
    return client.track(name, payload)


def main() -> int:
    with tracklane.Client([tracklane.WebAnalyzer()]) as client:
        result = track_with_retry(client, "order_completed", {"order_id": "ORD-1234", "amount": "49.99"})
        print(f"{result.status} {result.message_id}")
        try:
            report = client.flush(30, raise_on_failure=True)
        except tracklane.DeliveryError as e:
            for failure in e.report["failures"]:
                print(f"failed: HTTP {failure['status']} {failure['reason']}", file=sys.stderr)
            return 1
        retries = client.stats()["destinations"][0]["retries"]
        print(f"delivered={report['delivered']} retries={retries}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

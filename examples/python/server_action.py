"""The Web Analyzer docs' "PHP (cURL)" example, on tracklane.

The PHP script read ``WEBANALYZER_API_KEY`` from the environment, posted a ``server_action``
event with cURL and printed "Event tracked successfully" on HTTP 200, or the status and body
otherwise. Here the key (and the website id and URL) come from ``TRACKLANE_WEBANALYZER_*``,
and the outcome is the client's delivery report: a non-retryable answer (401, 403, 404...)
is reported with its status and the collector's message, a retryable one (429, 5xx) is retried first.

    TRACKLANE_WEBANALYZER_API_KEY=... TRACKLANE_WEBANALYZER_WEBSITE_ID=1 \\
        python examples/python/server_action.py [EMAIL]
"""

from __future__ import annotations

import sys

import tracklane


def main(argv: list[str]) -> int:
    email = argv[0] if argv else "user@example.com"
    with tracklane.Client([tracklane.WebAnalyzer()]) as client:
        client.track("server_action", {"action": "user_registered", "email": email})
        report = client.flush(30)
    if report["delivered"] == 1:
        print("Event tracked successfully")
        return 0
    for failure in report["failures"]:
        print(f"Error: {failure['reason']}")  # "HTTP 401: unauthorized - Missing or invalid API key"
    if report["pending"]:
        print("Error: not delivered yet (still retrying)")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

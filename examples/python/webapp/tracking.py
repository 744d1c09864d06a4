"""The app's two tracklane clients, built once per app from ``TRACKLANE_*`` variables.

Two clients, not one with two destinations: a client sends every event to all of its
destinations, and Silktide's events describe a visitor's browser (ip, user agent, view width)
while a Stripe webhook's request comes from Stripe's servers. Web Analyzer gets the business
events, Silktide only the downloads.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Optional

import tracklane
from flask import current_app

EXTENSION = "tracklane"


@dataclass(frozen=True)
class Tracking:
    #: Web Analyzer: purchases, form submissions, server actions (TRACKLANE_WEBANALYZER_*).
    analytics: tracklane.Client
    #: Silktide: file downloads (TRACKLANE_SILKTIDE_*).
    downloads: tracklane.Client

    @classmethod
    def from_environment(cls) -> Tracking:
        return cls(tracklane.Client([tracklane.WebAnalyzer()]), tracklane.Client([tracklane.Silktide()]))

    def flush(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        return [self.analytics.flush(timeout), self.downloads.flush(timeout)]

    def close(self, timeout: Optional[float] = None) -> list[dict[str, Any]]:
        return [self.analytics.close(timeout), self.downloads.close(timeout)]


def tracking() -> Tracking:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def client_visitor_id(value: Optional[str]) -> Optional[str]:
    """The client-side visitor id posted with a form (``ot_vid``), if it is one.

    Web Analyzer only accepts a UUID there and would refuse the whole event otherwise; an
    unusable id is dropped instead, so the event is still recorded, just not linked to a visitor.
    """
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None

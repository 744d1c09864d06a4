"""The Flask shop (Laravel ports and Silktide downloads) through Flask's test client; what
the collector received is checked after flushing the app's clients."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

VISITOR = "550e8400-e29b-41d4-a716-446655440000"
PAGE = "https://shop.example.com/pricing"
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/115.0.0.0 Safari/537.36"


@pytest.fixture
def app(tracklane_env: dict[str, str]) -> Iterator[Flask]:
    from webapp import create_app

    app = create_app()
    yield app
    app.extensions["tracklane"].close(1)


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    return app.test_client()


def delivered(app: Flask) -> None:
    """Waits for everything the app queued; fails if anything was not delivered."""
    for report in app.extensions["tracklane"].flush(15):
        assert report["failed"] == 0 and report["pending"] == 0, report


def checkout_completed(event_id: str, metadata: dict[str, str], amount_total: int = 4999) -> dict[str, Any]:
    """A Stripe ``checkout.session.completed`` event, trimmed to what the handler reads."""
    return {
        "id": event_id,
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_a1b2c3",
                "object": "checkout.session",
                "amount_total": amount_total,
                "currency": "usd",
                "customer_email": "jenny@example.com",
                "metadata": metadata,
            }
        },
    }


class Form(HTMLParser):
    """The first form of a page: its action, its inputs, and the page's scripts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        elif tag == "input" and a.get("name"):
            self.inputs[a["name"] or ""] = a
        self._in_script = tag == "script"

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_checkout_completed_webhook_tracks_the_purchase(app: Flask, http: FlaskClient, collector: Any) -> None:
    event = checkout_completed("evt_1", {"visitor_id": VISITOR, "page_url": PAGE}, amount_total=123450)
    response = http.post("/webhooks/stripe/checkout-completed", json=event)
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    delivered(app)
    (request,) = collector.requests("webanalyzer")
    assert request["path"] == "/api/v1/websites/1/track"
    assert request["headers"]["authorization"] == "Bearer test-wa-key"
    assert request["body"] == {
        "name": "purchase",
        "visitor_id": VISITOR,
        "payload": {
            "order_id": "cs_test_a1b2c3", "amount": "1234.50", "currency": "USD", "customer": "jenny@example.com"
        },
        "url": PAGE,
    }


def test_checkout_completed_without_metadata_is_tracked_unlinked(
    app: Flask, http: FlaskClient, collector: Any
) -> None:
    assert http.post("/webhooks/stripe/checkout-completed", json=checkout_completed("evt_2", {})).status_code == 200
    delivered(app)
    (event,) = collector.webanalyzer_events()
    assert "visitor_id" not in event and "url" not in event
    assert event["payload"]["amount"] == "49.99"


def test_idempotent_webhook_skips_a_replay(app: Flask, http: FlaskClient, collector: Any) -> None:
    webhook = {"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "type": "payment_intent.succeeded",
               "data": {"object": {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa"}}}
    first = http.post("/webhooks/stripe", json=webhook)
    replay = http.post("/webhooks/stripe", json=webhook)
    other = http.post("/webhooks/stripe", json={**webhook, "id": "evt_2", "data": {"object": {"id": "pi_2"}}})
    assert first.get_json() == {"ok": True}
    assert replay.get_json() == {"ok": True, "skipped": True}
    assert other.get_json() == {"ok": True}
    delivered(app)
    events = collector.webanalyzer_events()
    assert sorted(e["payload"]["order_id"] for e in events) == ["pi_2", "pi_3MtwBwLkdIwHu7ix28a3tqPa"]
    assert all(e["name"] == "purchase" for e in events)


def test_replayed_checkout_webhook_is_skipped_too(app: Flask, http: FlaskClient, collector: Any) -> None:
    event = checkout_completed("evt_3", {"visitor_id": VISITOR, "page_url": PAGE})
    assert http.post("/webhooks/stripe/checkout-completed", json=event).get_json() == {"ok": True}
    assert http.post("/webhooks/stripe/checkout-completed", json=event).get_json() == {"ok": True, "skipped": True}
    delivered(app)
    assert len(collector.webanalyzer_events()) == 1


def test_contact_form_is_stored_and_tracked_for_the_visitor(app: Flask, http: FlaskClient, collector: Any) -> None:
    page = Form(http.get("/contact").get_data(as_text=True))
    assert page.inputs["visitor_id"]["type"] == "hidden"
    form = {"name": "Jane", "email": "jane@example.com", "subject": "Pricing question", "message": "Hi!",
            "visitor_id": VISITOR}
    response = http.post(page.action or "", data=form)
    assert response.status_code == 303 and response.headers["Location"].endswith("/contact?sent=1")
    assert app.config["CONTACT_MESSAGES"] == [
        {"name": "Jane", "email": "jane@example.com", "subject": "Pricing question", "message": "Hi!"}
    ]
    delivered(app)
    (event,) = collector.webanalyzer_events()
    assert event == {"name": "form_submit", "visitor_id": VISITOR,
                     "payload": {"form": "contact", "subject": "Pricing question"}}


def test_contact_form_with_an_unusable_visitor_id_is_tracked_unlinked(
    app: Flask, http: FlaskClient, collector: Any
) -> None:
    form = {"name": "Jo", "email": "jo@example.com", "subject": "Hello", "message": "Hi", "visitor_id": "not-a-uuid"}
    assert http.post("/contact", data=form).status_code == 303
    delivered(app)
    (event,) = collector.webanalyzer_events()
    assert event == {"name": "form_submit", "payload": {"form": "contact", "subject": "Hello"}}


def test_invalid_contact_form_is_neither_stored_nor_tracked(app: Flask, http: FlaskClient, collector: Any) -> None:
    response = http.post("/contact", data={"name": "Jo", "subject": "", "visitor_id": VISITOR})
    assert response.status_code == 422 and b"email, subject, message" in response.data
    assert app.config["CONTACT_MESSAGES"] == []
    assert app.extensions["tracklane"].analytics.stats()["calls"] == 0
    delivered(app)
    assert collector.requests("webanalyzer") == []


def test_checkout_session_metadata_carries_visitor_and_referring_page(http: FlaskClient) -> None:
    response = http.post("/checkout", data={"visitor_id": VISITOR}, headers={"Referer": PAGE})
    params = response.get_json()
    assert params["metadata"] == {"visitor_id": VISITOR, "page_url": PAGE}
    assert params["mode"] == "payment"
    assert params["line_items"] == [{"price": "price_pro_monthly", "quantity": 1}]
    assert params["success_url"] == "http://localhost/checkout/success"
    assert params["cancel_url"] == "http://localhost/checkout/cancel"


def test_visitor_id_hand_off_from_the_page_to_the_purchase(app: Flask, http: FlaskClient, collector: Any) -> None:
    # Step 1-2: the page's hidden field, filled by its script from the client-side id.
    page_url = "http://localhost/checkout"
    page = Form(http.get("/checkout").get_data(as_text=True))
    field = page.inputs["visitor_id"]
    assert field["type"] == "hidden" and field["id"] == "wa-visitor-id"
    assert any("localStorage.getItem('ot_vid')" in s and "wa-visitor-id" in s for s in page.scripts)
    form = {name: attrs.get("value") or "" for name, attrs in page.inputs.items()}
    form["visitor_id"] = VISITOR  # what the script does in a browser
    # Step 3: the server puts it into the Stripe session's metadata.
    session = http.post(page.action or "", data=form, headers={"Referer": page_url}).get_json()
    # Step 4: Stripe sends the completed session back with that metadata.
    event = checkout_completed("evt_handoff", session["metadata"])
    assert http.post("/webhooks/stripe/checkout-completed", json=event).status_code == 200
    delivered(app)
    (purchase,) = collector.webanalyzer_events()
    assert purchase["name"] == "purchase"
    assert purchase["visitor_id"] == VISITOR and purchase["url"] == page_url


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/downloads/brochure.txt", {"Sec-CH-Viewport-Width": "979"}),
        ("/downloads/brochure.txt?vw=979", {}),
    ],
    ids=["client-hint", "query"],
)
def test_download_sends_silktide_the_visitors_request(
    app: Flask, http: FlaskClient, collector: Any, path: str, headers: dict[str, str]
) -> None:
    response = http.get(
        path,
        headers={"User-Agent": UA, "Referer": PAGE, **headers},
        environ_base={"REMOTE_ADDR": "84.14.132.114"},
    )
    assert response.status_code == 200 and response.data == b"tracklane demo brochure\n"
    delivered(app)
    (request,) = collector.requests("silktide")
    assert request["path"] == "/v1/events" and request["status"] == 200
    assert request["body"] == {
        "propertyKey": "8bce2be8c07a84a70e7104634b42878b",
        "url": PAGE,
        "ip": "84.14.132.114",
        "viewWidth": 979,
        "userAgent": UA,
        "events": [{"event": "download", "url": "http://localhost/downloads/brochure.txt"}],
    }
    assert collector.requests("webanalyzer") == []


def test_a_missing_file_is_404_and_not_tracked(app: Flask, http: FlaskClient, collector: Any) -> None:
    assert http.get("/downloads/nope.pdf", headers={"User-Agent": UA}).status_code == 404
    assert http.get("/downloads/../tracking.py", headers={"User-Agent": UA}).status_code == 404
    delivered(app)
    assert collector.requests("silktide") == []


def test_index_links_every_page(http: FlaskClient) -> None:
    html = http.get("/").get_data(as_text=True)
    for path in ("/checkout", "/contact", "/downloads/brochure.txt"):
        assert f'href="{path}"' in html

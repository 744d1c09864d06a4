"""The Web Analyzer docs' Python and Ruby snippets, run as scripts against the collector."""

from __future__ import annotations

from typing import Any

VISITOR = "550e8400-e29b-41d4-a716-446655440000"
AUTH = "Bearer test-wa-key"


def test_track_event_sends_the_invoice_event(collector: Any, tracklane_env: dict[str, str], run: Any) -> None:
    out = run("track_event.py", {**tracklane_env, "TRACKLANE_DESTINATIONS": "webanalyzer"}, VISITOR).stdout
    assert out.startswith("queued ") and "delivered=1" in out
    (request,) = collector.requests("webanalyzer")
    assert request["path"] == "/api/v1/websites/1/track" and request["status"] == 200
    assert request["headers"]["authorization"] == AUTH
    assert request["body"] == {
        "name": "invoice_paid",
        "payload": {"invoice_id": "INV-2024-001", "amount": "149.99", "currency": "USD"},
        "visitor_id": VISITOR,
    }


def test_track_event_is_configured_by_the_environment_alone(
    collector: Any, tracklane_env: dict[str, str], run: Any
) -> None:
    env = {**tracklane_env, "TRACKLANE_DESTINATIONS": "webanalyzer", "TRACKLANE_WEBANALYZER_WEBSITE_ID": "7"}
    result = run("track_event.py", env, expect_exit=1)
    assert "delivered=0" in result.stdout
    (request,) = collector.requests("webanalyzer")
    assert request["path"] == "/api/v1/websites/7/track" and request["status"] == 404
    assert "visitor_id" not in request["body"]


def test_iot_sensor_readings_are_batched_with_string_values(
    collector: Any, tracklane_env: dict[str, str], run: Any
) -> None:
    out = run("iot_sensor.py", tracklane_env, "greenhouse-1", "21.5", "48", "greenhouse-2", "19.25", "51.5").stdout
    assert "delivered=2" in out
    (request,) = collector.requests("webanalyzer")
    assert request["path"] == "/api/v1/websites/1/track/batch" and request["status"] == 200
    assert request["body"]["events"] == [
        {"name": "sensor_reading",
         "payload": {"sensor_id": "greenhouse-1", "temperature": "21.5", "humidity": "48.0"}},
        {"name": "sensor_reading",
         "payload": {"sensor_id": "greenhouse-2", "temperature": "19.25", "humidity": "51.5"}},
    ]


def test_retry_is_built_in_through_a_503_outage(collector: Any, tracklane_env: dict[str, str], run: Any) -> None:
    collector.fault(destination="webanalyzer", mode="status", status=503, count=3)
    out = run("retry_with_backoff.py", tracklane_env).stdout
    assert "delivered=1 retries=3" in out
    requests = collector.requests("webanalyzer")
    assert [r["status"] for r in requests] == [503, 503, 503, 200]
    assert all(r["body"] == requests[0]["body"] for r in requests), "every attempt resends the same event"
    assert requests[-1]["body"] == {"name": "order_completed", "payload": {"order_id": "ORD-1234", "amount": "49.99"}}


def test_retry_gives_up_at_once_on_401(collector: Any, tracklane_env: dict[str, str], run: Any) -> None:
    env = {**tracklane_env, "TRACKLANE_WEBANALYZER_API_KEY": "revoked-key-0000"}
    result = run("retry_with_backoff.py", env, expect_exit=1)
    assert "failed: HTTP 401" in result.stderr
    assert [r["status"] for r in collector.requests("webanalyzer")] == [401]


def test_ruby_track_event_port(collector: Any, tracklane_env: dict[str, str], run: Any) -> None:
    out = run("ruby_track_event.py", tracklane_env).stdout
    assert "Tracking failed: webanalyzer.payload.too_many_keys" in out, out
    assert out.rstrip().endswith("delivered")
    (request,) = collector.requests("webanalyzer")
    assert request["status"] == 200
    assert request["body"] == {"name": "subscription_renewed", "payload": {"plan": "pro", "amount": "14.99"}}


def test_ruby_track_event_port_raises_on_a_failed_delivery(
    collector: Any, tracklane_env: dict[str, str], run: Any
) -> None:
    collector.fault(destination="webanalyzer", mode="status", status=403, body={"error": "plan_required"})
    result = run("ruby_track_event.py", tracklane_env, expect_exit=1)
    assert "Tracking failed: 403" in result.stderr
    assert [r["status"] for r in collector.requests("webanalyzer")] == [403]


def test_server_action_reports_success(collector: Any, tracklane_env: dict[str, str], run: Any) -> None:
    out = run("server_action.py", tracklane_env, "new.user@example.com").stdout
    assert out.strip() == "Event tracked successfully"
    (request,) = collector.requests("webanalyzer")
    assert request["headers"]["authorization"] == AUTH
    assert request["body"] == {
        "name": "server_action",
        "payload": {"action": "user_registered", "email": "new.user@example.com"},
    }


def test_server_action_reports_the_http_error(collector: Any, tracklane_env: dict[str, str], run: Any) -> None:
    env = {**tracklane_env, "TRACKLANE_WEBANALYZER_API_KEY": "wrong-key-000000"}
    out = run("server_action.py", env, expect_exit=1).stdout
    assert out.startswith("Error: HTTP 401"), out
    assert [r["status"] for r in collector.requests("webanalyzer")] == [401]

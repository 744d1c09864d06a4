"""Koala, Tracardi and Dreamdata examples, run as scripts against the collector."""

from __future__ import annotations

import base64
from typing import Any

PROFILE = "3e6a2c18-3b02-40c4-b8d2-1842c193d3ba"


def test_koala_identifies_then_sends_events(collector: Any, tracklane_env: dict[str, str], run: Any) -> None:
    out = run("koala_identify_and_events.py", tracklane_env, PROFILE, "jane@example.com").stdout
    assert "Created Account again: duplicate" in out and "delivered=2" in out
    requests = collector.requests("koala")
    assert {r["path"] for r in requests} == {"/web/projects/test-koala-key/batch"}
    assert all(r["status"] == 200 and "authorization" not in r["headers"] for r in requests)
    bodies = [r["body"] for r in requests]
    assert {"profile_id": PROFILE, "email": "jane@example.com"} in bodies
    (with_events,) = [b for b in bodies if "events" in b]
    assert with_events["profile_id"] == PROFILE
    (event,) = with_events["events"]
    assert event["message_id"] == "account-created-acct-42"
    assert event["type"] == "track" and event["event"] == "Created Account"
    assert event["properties"] == {"account_id": "acct-42"}
    assert event["sent_at"].endswith("Z")


def test_tracardi_profile_learned_from_the_first_response_is_reused(
    collector: Any, tracklane_env: dict[str, str], run: Any
) -> None:
    out = run("tracardi_tracking.py", tracklane_env).stdout
    assert "delivered=[2, 1, 1]" in out
    profile_id = out.split("profile_id=", 1)[1].split()[0]
    tracked = [r for r in collector.requests("tracardi") if r["path"] == "/track" and not r["query"]]
    assert len(tracked) == 3 and all(r["status"] == 200 for r in tracked)
    # The first request went out alone; the last two (two sessions) in parallel, in any order.
    first = tracked[0]
    (same_visit,) = [r for r in tracked[1:] if r["body"]["session"] == first["body"]["session"]]
    (next_visit,) = [r for r in tracked[1:] if r is not same_visit]
    # First visit: no profile yet; both events in one request, as in the guide's payload.
    assert "profile" not in first["body"]
    assert first["body"]["source"] == {"id": "source-id"}
    assert first["body"]["context"] == {"device": "iPhone X"}
    assert first["body"]["options"] == {"debugger": False, "saveEvents": True}
    assert first["body"]["events"] == [
        {"type": "purchase-order", "properties": {"product": "Nike shoes", "quantity": 1}},
        {"type": "page-view"},
    ]
    # The collector assigned the profile; the script learned it from the delivery.
    assert profile_id and profile_id != "None"
    # Same session later: tracklane attached the remembered profile id.
    assert same_visit["body"]["profile"] == {"id": profile_id}
    assert same_visit["body"]["events"] == [{"type": "add-to-wishlist", "properties": {"product": "Nike socks"}}]
    # Next visit: a new session, the stored profile id.
    assert next_visit["body"]["session"] != first["body"]["session"]
    assert next_visit["body"]["profile"] == {"id": profile_id}


def test_tracardi_profile_less_and_collect_forms(collector: Any, tracklane_env: dict[str, str], run: Any) -> None:
    run("tracardi_tracking.py", tracklane_env)
    requests = collector.requests("tracardi")
    (profile_less,) = [r for r in requests if r["query"] == "profile_less=true"]
    assert profile_less["path"] == "/track" and profile_less["status"] == 200
    assert "profile" not in profile_less["body"] and profile_less["body"]["session"]["id"]
    assert profile_less["body"]["events"] == [{"type": "coupon-received", "properties": {"coupon": "SPRING-24"}}]
    (collected,) = [r for r in requests if r["path"].startswith("/collect/")]
    assert collected["path"] == "/collect/coupon-received/source-id" and collected["status"] == 200
    assert collected["body"] == {"coupon": "SPRING-24", "customer_ref": "crm-1001"}


def test_dreamdata_identify_track_alias_and_cookieless(
    collector: Any, tracklane_env: dict[str, str], run: Any
) -> None:
    assert "delivered=4" in run("dreamdata_tracking.py", tracklane_env).stdout
    requests = collector.requests("dreamdata")
    basic = "Basic " + base64.b64encode(b"test-dd-key:").decode()
    assert all(r["path"] == "/v1/batch" and r["status"] == 200 for r in requests)
    assert all(r["headers"]["authorization"] == basic and r["body"]["sentAt"] for r in requests)
    messages = {m["type"] + ":" + m.get("event", ""): m for m in collector.segment_spec_messages("dreamdata")}
    assert set(messages) == {"identify:", "track:Song Played", "alias:", "track:Page Viewed"}
    assert len({m["messageId"] for m in messages.values()}) == 4

    identify = messages["identify:"]
    assert identify["userId"] == "019mr8mf4r"
    assert identify["traits"] == {"email": "jake@yahoo.com", "name": "Jake Peterson", "age": 26}
    assert identify["timestamp"] == "2012-12-02T00:30:08.276Z"
    assert identify["context"]["ip"] == "24.5.68.47"
    assert identify["context"]["campaign"]["name"] == "my_campaign"
    assert identify["context"]["library"]["name"] == "tracklane"

    song = messages["track:Song Played"]
    assert song["userId"] == "019mr8mf4r"
    assert song["properties"] == {"name": "Fallin for You", "artist": "Dierks Bentley"}
    assert song["context"]["page"] == {
        "url": "http://localhost:3000/test/path?param=a088fb06-a208-4552-b4b7-28fb7f95aeaf",
        "referrer": "http://localhost:3000/test",
    }
    assert song["context"]["userAgent"].startswith("Mozilla/5.0 (Macintosh")
    assert song["timestamp"] == "2012-12-02T00:30:12.984Z"

    alias = messages["alias:"]
    assert alias["userId"] == "user-123" and alias["previousId"] == "anon-xyz-789"

    cookieless = messages["track:Page Viewed"]
    assert cookieless["anonymousId"] == "cookieless" and "userId" not in cookieless
    assert cookieless["context"]["ip"] == "203.0.113.42"

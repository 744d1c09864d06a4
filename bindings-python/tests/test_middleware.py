"""WSGI middleware with a real Flask app and ASGI middleware with a real Starlette app
served by uvicorn: cookie set when absent, reused when present, request context bound."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
import tracklane
from conftest import FAST, Collector, eventually
from werkzeug.serving import make_server

APPS = Path(__file__).parent / "apps"
sys.path.insert(0, str(APPS))


@pytest.fixture
def flask_url(collector: Collector) -> Iterator[tuple[str, tracklane.Client]]:
    from flask_app import make_app

    client = tracklane.Client([collector.destination("segment")], **FAST)
    server = make_server("127.0.0.1", 0, make_app(client), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", client
    server.shutdown()
    client.close()


def segment_messages(collector: Collector) -> list[dict[str, Any]]:
    return [m for r in collector.requests("segment") for m in r["body"]["batch"]]


def test_wsgi_sets_the_visitor_cookie_when_absent(flask_url: Any, collector: Collector) -> None:
    url, client = flask_url
    response = requests.get(f"{url}/lead?x=1", headers={"User-Agent": "UA/1", "Referer": "https://ref.example/"})
    body = response.json()
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"tracklane_id={body['visitor']};") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    assert uuid.UUID(body["visitor"]).version == 4 and body["status"] == "queued"
    client.flush(10)
    (message,) = [m for m in segment_messages(collector) if m["anonymousId"] == body["visitor"]]
    assert message["event"] == "lead_created"
    ctx = message["context"]
    assert ctx["userAgent"] == "UA/1" and ctx["ip"] == "127.0.0.1"
    assert ctx["page"]["url"] == f"{url}/lead?x=1" and ctx["page"]["referrer"] == "https://ref.example/"


def test_wsgi_reuses_the_cookie_when_present(flask_url: Any) -> None:
    url, _ = flask_url
    visitor = str(uuid.uuid4())
    response = requests.get(f"{url}/lead", cookies={"tracklane_id": visitor}, headers={"X-Forwarded-For": "9.9.9.9"})
    assert response.json()["visitor"] == visitor and "Set-Cookie" not in response.headers
    assert response.json()["context"]["ip"] == "127.0.0.1"  # X-Forwarded-For ignored without trust_proxy


def test_wsgi_keeps_an_id_the_browser_set_and_replaces_an_unusable_one(flask_url: Any) -> None:
    url, _ = flask_url
    # Not a UUID (a browser tag's own format): respected as it is, and not set again.
    kept = requests.get(f"{url}/lead", cookies={"tracklane_id": "ko-3E6A2C18"})
    assert kept.json()["visitor"] == "ko-3E6A2C18" and "Set-Cookie" not in kept.headers
    too_long = "v" * 256
    replaced = requests.get(f"{url}/lead", cookies={"tracklane_id": too_long})
    visitor = replaced.json()["visitor"]
    assert uuid.UUID(visitor).version == 4
    assert replaced.headers["Set-Cookie"].startswith(f"tracklane_id={visitor};")


def test_wsgi_finds_the_visitor_cookie_behind_a_malformed_one(flask_url: Any) -> None:
    url, _ = flask_url
    visitor = str(uuid.uuid4())
    # A consent manager's JSON cookie comes first: SimpleCookie would drop the whole header.
    header = f'consent={{"ads":false,"stats":true}}; theme=dark mode; tracklane_id={visitor}'
    response = requests.get(f"{url}/lead", headers={"Cookie": header})
    assert response.json()["visitor"] == visitor and "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("tracklane_id=abc", "abc"),
        (' a=1 ;  tracklane_id = "abc" ', "abc"),
        ("tracklane_id=visitor%20one%3B", "visitor one;"),
        ("other_tracklane_id=abc", None),
        ("tracklane_id=", None),
        ("tracklane_id=a%01b", None),
        ("tracklane_id=%FF", None),
        ("tracklane_id=" + "x" * 255, "x" * 255),
        ("tracklane_id=" + "x" * 256, None),
        ("", None),
    ],
)
def test_the_visitor_cookie_is_read_as_the_express_middleware_reads_it(header: str, expected: Any) -> None:
    from tracklane._request import read_visitor

    assert read_visitor(header, "tracklane_id") == expected


def test_a_visitor_id_is_written_to_the_cookie_percent_encoded() -> None:
    from tracklane._request import CookieOptions, read_visitor

    header = CookieOptions().header("visitor one;é", https=False)
    value = header.split(";", 1)[0]
    assert value == "tracklane_id=visitor%20one%3B%C3%A9"
    assert read_visitor(value, "tracklane_id") == "visitor one;é"


@pytest.fixture
def uvicorn_url(collector: Collector) -> Iterator[str]:
    from test_processes import free_port, wait_http

    port = free_port()
    env = {**os.environ, "COLLECTOR_URL": collector.url, "PYTHONPATH": str(APPS)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "starlette_app:app", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/flush")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_asgi_cookie_and_context_with_a_real_server(uvicorn_url: str, collector: Collector) -> None:
    first = requests.get(f"{uvicorn_url}/lead", headers={"User-Agent": "UA/2", "X-Forwarded-For": "5.6.7.8, 10.0.0.1"})
    visitor = first.json()["visitor"]
    assert first.headers["set-cookie"].startswith(f"tracklane_id={visitor};")
    second = requests.get(f"{uvicorn_url}/lead", cookies={"tracklane_id": visitor})
    assert second.json()["visitor"] == visitor and "set-cookie" not in second.headers
    assert requests.get(f"{uvicorn_url}/flush").json()["pending"] == 0
    assert eventually(lambda: len(segment_messages(collector)) == 2)
    messages = [m for m in segment_messages(collector) if m["event"] == "lead_created"]
    assert {m["anonymousId"] for m in messages} == {visitor}
    first_ctx = next(m["context"] for m in messages if m["context"].get("userAgent") == "UA/2")
    assert first_ctx["ip"] == "5.6.7.8"  # trust_proxy=True in this app
    assert first_ctx["page"]["url"] == f"{uvicorn_url}/lead"

"""The Flask shop as a real server process (``python -m webapp --port 0``), hit over HTTP,
configured only through ``TRACKLANE_*`` variables: what ``make demo`` will run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

EXAMPLES = Path(__file__).resolve().parents[1]

VISITOR = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


class Server:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url

    def stop(self) -> str:
        """SIGTERM, as a process manager would; returns what it printed after starting."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=20)
        assert self.process.returncode == 0, out
        return out


@pytest.fixture
def serve(tracklane_env: dict[str, str]) -> Iterator[Callable[..., Server]]:
    started: list[subprocess.Popen[str]] = []

    def start(**env: str) -> Server:
        process = subprocess.Popen(
            [sys.executable, "-m", "webapp", "--port", "0"],
            cwd=EXAMPLES,
            env={**os.environ, **tracklane_env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line + (process.stdout.read() or "")
        return Server(process, line.split()[-1])

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Polls until ``check`` returns something truthy (delivery is asynchronous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    return check()


def test_served_app_delivers_while_running(serve: Callable[..., Server], collector: Any) -> None:
    server = serve(TRACKLANE_FLUSH_INTERVAL_MS="50")
    form = {"name": "Jane", "email": "jane@example.com", "subject": "Demo", "message": "Hi", "visitor_id": VISITOR}
    response = requests.post(f"{server.url}/contact", data=form, allow_redirects=False, timeout=10)
    assert response.status_code == 303
    events = eventually(collector.webanalyzer_events)
    assert events == [{"name": "form_submit", "visitor_id": VISITOR, "payload": {"form": "contact", "subject": "Demo"}}]
    server.stop()


def test_served_app_hand_off_and_delivery_of_what_is_queued_at_shutdown(
    serve: Callable[..., Server], collector: Any
) -> None:
    # A long flush interval: nothing is due before the server is stopped, so what the
    # collector has afterwards was delivered by the shutdown drain.
    server = serve(TRACKLANE_FLUSH_INTERVAL_MS="600000")
    http = requests.Session()
    page = http.get(f"{server.url}/checkout", timeout=10)
    assert 'name="visitor_id"' in page.text and page.headers["Accept-CH"] == "Sec-CH-Viewport-Width"
    checkout_page = f"{server.url}/checkout"
    form = {"visitor_id": VISITOR}
    session = http.post(checkout_page, data=form, headers={"Referer": checkout_page}, timeout=10).json()
    assert session["success_url"] == f"{server.url}/checkout/success"
    webhook: dict[str, Any] = {
        "id": "evt_served_1",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_served", "amount_total": 1999, "currency": "eur",
                            "customer_email": "jane@example.com", "metadata": session["metadata"]}},
    }
    webhook_url = f"{server.url}/webhooks/stripe/checkout-completed"
    assert http.post(webhook_url, json=webhook, timeout=10).json() == {"ok": True}
    replay = http.post(webhook_url, json=webhook, timeout=10)
    assert replay.json() == {"ok": True, "skipped": True}
    download = http.get(f"{server.url}/downloads/brochure.txt?vw=1280", headers={"User-Agent": UA}, timeout=10)
    assert download.status_code == 200

    out = server.stop()
    assert "stopped: delivered 2 events at shutdown, 0 not delivered" in out, out
    (purchase,) = collector.webanalyzer_events()
    assert purchase == {
        "name": "purchase",
        "visitor_id": VISITOR,
        "payload": {"order_id": "cs_served", "amount": "19.99", "currency": "EUR", "customer": "jane@example.com"},
        "url": f"{server.url}/checkout",
    }
    (download_request,) = collector.requests("silktide")
    body = download_request["body"]
    assert (body["ip"], body["userAgent"], body["viewWidth"]) == ("127.0.0.1", UA, 1280)
    assert body["url"] == f"{server.url}/downloads/brochure.txt"
    assert body["events"] == [{"event": "download", "url": f"{server.url}/downloads/brochure.txt"}]

"""`make demo`: a short tour of tracklane on the local collector, then what arrived where.

1. starts `tracklane-collector` (the local stand-in for the five collectors' APIs);
2. starts the Python shop (Flask, examples/python/webapp) and the Express shop
   (examples/node/shop.js), both pointed at it through `TRACKLANE_*` variables;
3. in each shop, a visitor opens the checkout page, posts it with the hidden `visitor_id`,
   pays (Stripe's `checkout.session.completed` webhook, then the same webhook replayed twice)
   and sends the contact form;
4. a burst of 20,000 events from a Python client to a Segment-spec destination, with the
   collector answering 503 for 5 seconds in the middle of it;
5. stops the shops (each delivers what it still holds), prints per destination what the
   collector received, and stops everything it started.

Needs no account, key or network. Run from the repository root with the venv's Python.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Optional

import tracklane

ROOT = Path(__file__).resolve().parents[1]
BURST = 20_000
OUTAGE_SECONDS = 5
REPLAYS = 2
#: The burst's visitor; each shop gets a visitor of its own.
VISITOR = str(uuid.uuid4())


def say(text: str) -> None:
    print(text, flush=True)


#: The servers' own request logs (stderr) go here rather than into the tour's output.
LOG = ROOT / "target" / "demo.log"


def start(command: list[str], cwd: Path, env: Optional[dict[str, str]] = None) -> tuple[subprocess.Popen[str], str]:
    """Starts a server that prints `... listening on http://HOST:PORT` and returns its URL."""
    with LOG.open("a") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on http://" not in line:
        process.kill()
        raise SystemExit(f"{' '.join(command)} did not start (printed {line!r}; see {LOG})")
    return process, line.strip().rsplit(" ", 1)[-1]


def call(method: str, url: str, body: Any = None, form: Optional[dict[str, str]] = None,
         headers: Optional[dict[str, str]] = None) -> Any:
    data = None
    request_headers = dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        request_headers["content-type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        request_headers["content-type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=request_headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
        if "json" in response.headers.get("content-type", ""):
            return json.loads(text)
        return text


def checkout_completed(event_id: str, metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": f"cs_demo_{event_id[-6:]}", "object": "checkout.session", "amount_total": 4999,
            "currency": "usd", "customer_email": "jenny@example.com", "metadata": metadata,
        }},
    }


def visit_shop(name: str, base: str, webhook_path: str, checkout_form: dict[str, str], downloads: bool) -> int:
    """One visitor's journey through a shop; returns how many replays it answered `skipped`."""
    visitor = str(uuid.uuid4())
    page = call("GET", f"{base}/checkout")
    assert 'name="visitor_id"' in page, "the checkout page carries the hidden visitor_id field"
    params = call("POST", f"{base}/checkout", form={**checkout_form, "visitor_id": visitor},
                  headers={"referer": f"{base}/pricing"})
    metadata = params["metadata"]
    event_id = f"evt_{name}_{uuid.uuid4().hex[:12]}"
    first = call("POST", base + webhook_path, body=checkout_completed(event_id, metadata))
    replies = [call("POST", base + webhook_path, body=checkout_completed(event_id, metadata)) for _ in range(REPLAYS)]
    skipped = sum(1 for reply in replies if reply.get("skipped"))
    call("POST", f"{base}/contact", form={
        "name": "Jane", "email": "jane@example.com", "subject": "Invoice", "message": "Hello!", "visitor_id": visitor,
    })
    if downloads:
        call("GET", f"{base}/downloads/brochure.txt", headers={"user-agent": "Mozilla/5.0 (demo)"})
    say(f"  {name}: checkout metadata {metadata}; webhook -> {first}; "
        f"{REPLAYS} replays -> {skipped} answered skipped; contact form sent" + ("; brochure downloaded" if downloads else ""))
    return skipped


def burst(collector_url: str) -> dict[str, Any]:
    client = tracklane.Client(
        [tracklane.Segment(write_key="test-segment-key", base_url=f"{collector_url}/segment")],
        flush_interval_ms=200, retry_base_ms=250, retry_cap_ms=1_000,
    )
    started = time.perf_counter()
    inside = 0.0
    outage_at = BURST // 4
    for n in range(BURST):
        if n == outage_at:
            call("POST", f"{collector_url}/_faults",
                 body={"destination": "segment", "mode": "status", "status": 503, "for_ms": OUTAGE_SECONDS * 1000})
            say(f"  event {n:,}: the collector starts answering 503 for {OUTAGE_SECONDS} s")
        t = time.perf_counter()
        client.track("page_viewed", {"n": n, "path": f"/docs/{n % 50}", "plan": "pro"}, anonymous_id=VISITOR)
        inside += time.perf_counter() - t
    tracked = time.perf_counter() - started
    say(f"  {BURST:,} events tracked in {tracked:.2f} s ({inside / BURST * 1e6:.1f} µs inside each call); "
        "the app never waited for the collector")
    report = client.flush(timeout=60)
    stats = client.stats()
    client.close()
    say(f"  all {stats['delivered']:,} delivered {time.perf_counter() - started:.1f} s after the first event "
        f"(failed {stats['failed']}, still pending {report['pending']}, dropped {stats['dropped']})")
    return stats


def table(stats: dict[str, Any], skipped: int, burst_stats: dict[str, Any]) -> None:
    rows = []
    for destination, s in stats.items():
        if destination == "total" or not s["requests"]:
            continue
        failed = sum(n for status, n in s["statuses"].items() if not str(status).startswith("2"))
        rows.append((destination, s["requests"], failed, s["events"], s["unique_ids"], s["duplicate_ids"]))
    header = ("destination", "requests", "refused (retried)", "events", "unique ids", "duplicates")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = "  ".join("{:<%d}" % widths[0] if i == 0 else "{:>%d}" % w for i, w in enumerate(widths))
    say("")
    say("What the collector received:")
    say(line.format(*header))
    say(line.format(*("-" * w for w in widths)))
    for row in rows:
        say(line.format(*(f"{v:,}" if isinstance(v, int) else v for v in row)))
    segment = next((d for d in burst_stats["destinations"] if d["name"] == "segment"), {})
    say("")
    say(f"Replayed webhooks answered 'skipped' by the shops (never sent): {skipped}")
    say(f"Burst client: {segment.get('retries', 0)} retried requests, {burst_stats['dropped']} dropped, "
        f"{burst_stats['delivered']:,} delivered")


def main() -> int:
    collector_bin = os.environ.get("TRACKLANE_COLLECTOR_BIN", str(ROOT / "target/debug/tracklane-collector"))
    processes: list[subprocess.Popen[str]] = []
    LOG.parent.mkdir(exist_ok=True)
    LOG.write_text("")
    try:
        collector, url = start([collector_bin, "--port", "0"], ROOT)
        processes.append(collector)
        say(f"1. local collector on {url}")
        env = {
            **os.environ,
            "TRACKLANE_FLUSH_INTERVAL_MS": "200",
            "TRACKLANE_WEBANALYZER_API_KEY": "test-wa-key",
            "TRACKLANE_WEBANALYZER_WEBSITE_ID": "1",
            "TRACKLANE_WEBANALYZER_BASE_URL": f"{url}/api/v1",
            "TRACKLANE_SILKTIDE_PROPERTY_KEY": "8bce2be8c07a84a70e7104634b42878b",
            "TRACKLANE_SILKTIDE_ENDPOINT_URL": f"{url}/v1/events",
        }
        python_shop, python_url = start([sys.executable, "-m", "webapp", "--port", "0"], ROOT / "examples/python", env)
        processes.append(python_shop)
        node_shop, node_url = start(["node", "shop.js", "--port", "0"], ROOT / "examples/node", env)
        processes.append(node_shop)
        say(f"2. Python shop (Flask) on {python_url}, Express shop on {node_url}")
        say("3. a visitor buys in each shop; Stripe's webhook arrives three times")
        skipped = visit_shop("flask", python_url, "/webhooks/stripe/checkout-completed", {"price": "price_pro_monthly"}, downloads=True)
        skipped += visit_shop("express", node_url, "/webhooks/stripe", {"plan": "pro"}, downloads=False)
        say(f"4. a burst of {BURST:,} events to Segment, with a {OUTAGE_SECONDS}-second outage")
        burst_stats = burst(url)
        say("5. stopping the shops (each delivers what it still holds)")
        for shop in (python_shop, node_shop):
            shop.terminate()
        for shop in (python_shop, node_shop):
            shop.wait(timeout=30)
        table(call("GET", f"{url}/_stats"), skipped, burst_stats)
        say(f"(the servers' logs: {LOG.relative_to(ROOT)})")
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    raise SystemExit(main())

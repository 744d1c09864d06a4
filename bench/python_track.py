"""Benchmark of the Python package (not a test): time inside `track`, 200,000 events end to
end to a Segment-spec destination on the local collector, and peak RSS.

    .venv/bin/python bench/python_track.py        (after `make test-python` built everything)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time
import urllib.request
from pathlib import Path

import tracklane

ROOT = Path(__file__).resolve().parents[1]
PROPS = {"order_id": "ORD-1234", "amount": 49.99, "plan": "pro"}


def start_collector() -> tuple[subprocess.Popen[str], str]:
    binary = os.environ.get("TRACKLANE_COLLECTOR_BIN") or str(ROOT / "target" / "debug" / "tracklane-collector")
    proc = subprocess.Popen([binary, "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip().rsplit(" ", 1)[-1]


def collector_events(url: str) -> int:
    with urllib.request.urlopen(url + "/_stats") as r:
        return int(json.loads(r.read())["segment"]["events"])


def per_call(url: str, n: int = 200_000) -> float:
    client = tracklane.Client(
        [tracklane.Segment(write_key="test-segment-key", base_url=url + "/segment")], max_queue_events=1_000_000
    )
    track = client.track
    for _ in range(2_000):  # warm up
        track("purchase", PROPS, anonymous_id="visitor-1")
    start = time.perf_counter()
    for _ in range(n):
        track("purchase", PROPS, anonymous_id="visitor-1")
    elapsed = time.perf_counter() - start
    client.close(30)
    return elapsed / n * 1e6


def end_to_end(url: str, n: int = 200_000) -> tuple[float, int]:
    urllib.request.urlopen(urllib.request.Request(url + "/_reset", method="POST")).read()
    client = tracklane.Client(
        [tracklane.Segment(write_key="test-segment-key", base_url=url + "/segment")], max_queue_events=1_000_000
    )
    start = time.perf_counter()
    for _ in range(n):
        client.track("purchase", PROPS, anonymous_id="visitor-1")
    report = client.flush(60)
    elapsed = time.perf_counter() - start
    client.close(5)
    assert report["pending"] == 0 and report["failed"] == 0, report
    return elapsed, collector_events(url)


def main() -> None:
    proc, url = start_collector()
    try:
        us = per_call(url)
        seconds, delivered = end_to_end(url)
    finally:
        proc.terminate()
        proc.wait()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"track() with 3-key properties: {us:.2f} us/call (200,000 calls)")
    print(f"200,000 events end to end (track + flush) to segment: {seconds:.2f} s, {delivered} delivered")
    print(f"peak RSS: {peak_mb:.1f} MB")


if __name__ == "__main__":
    main()

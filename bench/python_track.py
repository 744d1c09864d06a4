"""Benchmark of the Python package (not a test): time inside `track`, 200,000 events end to
end to a Segment-spec destination on the local collector, and peak RSS.

    .venv/bin/python bench/python_track.py        (after `make test-python` built everything)

After the three headline lines it prints where the time and memory went (Linux only): the CPU
seconds of the calling thread, of tracklane's runtime threads and of the collector process, and
how many events were still held (queued, batched or in flight) when the `track` loop ended.
Peak RSS is mostly those held events: on a 2-core machine the collector's own CPU bounds how
fast they drain.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import tracklane

#: The collector keeps counts and ids but not every request body (as a real collector would
#: not): with bodies it spends more CPU than the client it measures.
BENCH_COLLECTOR_ARGS = ("--keep-bodies", "false")
ROOT = Path(__file__).resolve().parents[1]
PROPS = {"order_id": "ORD-1234", "amount": 49.99, "plan": "pro"}


def start_collector() -> tuple[subprocess.Popen[str], str]:
    binary = os.environ.get("TRACKLANE_COLLECTOR_BIN") or str(ROOT / "target" / "debug" / "tracklane-collector")
    proc = subprocess.Popen([binary, "--port", "0", *BENCH_COLLECTOR_ARGS], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip().rsplit(" ", 1)[-1]


def collector_events(url: str) -> int:
    with urllib.request.urlopen(url + "/_stats") as r:
        return int(json.loads(r.read())["segment"]["events"])


def cpu_seconds(collector_pid: int) -> dict[str, float]:
    """CPU seconds so far of this thread, of tracklane's runtime threads and of the collector."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(path: str) -> float:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    me, caller = os.getpid(), threading.get_native_id()
    runtime = 0.0
    for tid in os.listdir(f"/proc/{me}/task"):
        if Path(f"/proc/{me}/task/{tid}/comm").read_text().strip() == "tracklane":
            runtime += stat(f"/proc/{me}/task/{tid}/stat")
    return {
        "caller": stat(f"/proc/{me}/task/{caller}/stat"),
        "runtime": runtime,
        "collector": stat(f"/proc/{collector_pid}/stat"),
    }


def spent(before: dict[str, float], after: dict[str, float]) -> str:
    return ", ".join(f"{k} {after[k] - before[k]:.2f}" for k in before)


def per_call(url: str, collector_pid: int, n: int = 200_000) -> tuple[float, str]:
    client = tracklane.Client(
        [tracklane.Segment(write_key="test-segment-key", base_url=url + "/segment")], max_queue_events=1_000_000
    )
    track = client.track
    for _ in range(2_000):  # warm up
        track("purchase", PROPS, anonymous_id="visitor-1")
    cpu = cpu_seconds(collector_pid)
    start = time.perf_counter()
    for _ in range(n):
        track("purchase", PROPS, anonymous_id="visitor-1")
    elapsed = time.perf_counter() - start
    held = client.stats()
    client.close(30)
    where = (
        f"per-call run: CPU s {spent(cpu, cpu_seconds(collector_pid))}; "
        f"held when the loop ended: {held['held_events']} events, {held['held_bytes'] / 1e6:.0f} MB of bodies"
    )
    return elapsed / n * 1e6, where


def end_to_end(url: str, collector_pid: int, n: int = 200_000) -> tuple[float, int, str]:
    urllib.request.urlopen(urllib.request.Request(url + "/_reset", method="POST")).read()
    client = tracklane.Client(
        [tracklane.Segment(write_key="test-segment-key", base_url=url + "/segment")], max_queue_events=1_000_000
    )
    cpu = cpu_seconds(collector_pid)
    start = time.perf_counter()
    for _ in range(n):
        client.track("purchase", PROPS, anonymous_id="visitor-1")
    held = client.stats()["held_events"]
    report = client.flush(60)
    elapsed = time.perf_counter() - start
    where = f"end-to-end run: CPU s {spent(cpu, cpu_seconds(collector_pid))}; held when the loop ended: {held} events"
    client.close(5)
    assert report["pending"] == 0 and report["failed"] == 0, report
    return elapsed, collector_events(url), where


def main() -> None:
    proc, url = start_collector()
    try:
        us, per_call_where = per_call(url, proc.pid)
        seconds, delivered, end_to_end_where = end_to_end(url, proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"track() with 3-key properties: {us:.2f} us/call (200,000 calls)")
    print(f"200,000 events end to end (track + flush) to segment: {seconds:.2f} s, {delivered} delivered")
    print(f"peak RSS: {peak_mb:.1f} MB")
    print(f"  {per_call_where}")
    print(f"  {end_to_end_where}")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

"""Benchmark of `Client.import_events` (not a test): a 1,000,000-row CSV, generated into a temp
file, imported to a Segment-spec destination on the local collector; wall time, CPU time of
this process and its peak RSS. Targets: <= 10 s and <= 200 MB.

    make bench-python                                # builds the release collector, runs both Python benches
    .venv/bin/python bench/python_import.py [ROWS]   (by hand, after `make test-python` built the package)

The collector runs as a separate process (TRACKLANE_COLLECTOR_BIN, else target/release, else
target/debug): it parses and records every event, so on a small machine it competes with the
import for CPU, and its share of the time is reported too.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

#: The collector keeps counts and ids but not every request body (as a real collector would
#: not): with bodies it spends more CPU than the client it measures.
BENCH_COLLECTOR_ARGS = ("--keep-bodies", "false")
ROOT = Path(__file__).resolve().parents[1]
EVENTS = ["page_view", "signup", "purchase", "add_to_cart", "checkout_started"]
PLANS = ["free", "pro", "team"]


def generate(path: str, rows: int) -> None:
    """A CSV like an analytics export: a key column, a name, epoch seconds, a user and 3 properties."""
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["event_id", "event", "timestamp", "user_id", "plan", "amount", "page"])
        for i in range(rows):
            amount = f"{(i * 7919) % 10000 / 100:.2f}"
            user = f"user-{i % 50_000}"
            out.writerow([f"evt-{i}", EVENTS[i % 5], 1_700_000_000 + i * 3, user, PLANS[i % 3], amount, f"/p/{i % 97}"])


def collector_binary() -> str:
    for candidate in (
        os.environ.get("TRACKLANE_COLLECTOR_BIN"),
        str(ROOT / "target" / "release" / "tracklane-collector"),
        str(ROOT / "target" / "debug" / "tracklane-collector"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    subprocess.run(["cargo", "build", "--release", "-p", "tracklane-collector"], cwd=ROOT, check=True)
    return str(ROOT / "target" / "release" / "tracklane-collector")


def collector_stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url + "/_stats") as r:
        return json.loads(r.read())["segment"]  # type: ignore[no-any-return]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    binary = collector_binary()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "events.csv")
        generate(path, rows)
        size_mb = os.path.getsize(path) / 1e6
        proc = subprocess.Popen([binary, "--port", "0", *BENCH_COLLECTOR_ARGS], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
            import tracklane

            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            client = tracklane.Client([tracklane.Segment(write_key="test-segment-key", base_url=url + "/segment")])
            cpu_start = time.process_time()
            collector_cpu_start = cpu_seconds(proc.pid)
            report = client.import_events(path, message_id="event_id", progress=False)
            cpu = time.process_time() - cpu_start
            collector_cpu = cpu_seconds(proc.pid) - collector_cpu_start
            client.close(10)
            received = collector_stats(url)
        finally:
            proc.terminate()
            proc.wait()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"collector: {binary}")
    print(
        f"{rows:,}-row CSV ({size_mb:.0f} MB) imported to segment: {report.elapsed:.2f} s wall, "
        f"{rows / report.elapsed:,.0f} rows/s; this process {cpu:.2f} s CPU, collector {collector_cpu:.2f} s CPU"
    )
    print(
        f"report: queued={report.queued:,} delivered={report.delivered:,} rejected={report.rejected} "
        f"failed={report.failed} pending={report.pending}"
    )
    print(f"collector received {received['events']:,} events ({received['unique_ids']:,} unique ids)")
    print(f"peak RSS: {peak_mb:.1f} MB (before the client: {rss_before:.1f} MB)")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

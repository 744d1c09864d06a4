"""Exit, fork, multiprocessing and a pre-forking server: every event delivered exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import tracklane
from conftest import Collector, eventually, run_python

APPS = Path(__file__).parent / "apps"


def test_exit_without_close_still_delivers(collector: Collector) -> None:
    code = f"""
import tracklane
c = tracklane.Client([{collector.destination("segment")!r}], flush_interval_ms=60000)
for i in range(50):
    c.track("e", {{"i": i}}, anonymous_id="a")
"""
    run_python(code)
    stats = collector.stats("segment")
    assert stats["events"] == 50 and stats["duplicate_ids"] == 0


def test_module_level_init_drains_at_exit(collector: Collector) -> None:
    code = f"""
import tracklane
tracklane.init([{collector.destination("segment")!r}], flush_interval_ms=60000, exit_timeout=5)
tracklane.track_event("invoice_paid", {{"n": 1}}, visitor_id="v")
"""
    run_python(code)
    assert collector.stats("segment")["events"] == 1


def test_os_fork_child_gets_a_working_client_and_nothing_is_sent_twice(collector: Collector) -> None:
    client = tracklane.Client([collector.destination("segment")], flush_interval_ms=60_000)
    for i in range(10):
        client.track("before_fork", {"i": i}, anonymous_id="parent")
    pid = os.fork()
    if pid == 0:  # child: its own events only, then leave without running pytest's teardown
        code = 1
        try:
            for i in range(7):
                client.track("in_child", {"i": i}, anonymous_id="child")
            report = client.flush(10)
            code = 0 if report["pending"] == 0 and report["failed"] == 0 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    client.track("after_fork", anonymous_id="parent")
    client.flush(10)
    client.close()
    stats = collector.stats("segment")
    assert stats["events"] == 18 and stats["unique_ids"] == 18 and stats["duplicate_ids"] == 0


def test_multiprocessing_fork_children_deliver_exactly_once(collector: Collector) -> None:
    code = f"""
import multiprocessing as mp
import tracklane
client = tracklane.Client([{collector.destination("segment")!r}], flush_interval_ms=60000)
client.track("parent_before", anonymous_id="p")

def work(n):
    for i in range(25):
        client.track("child", {{"n": n, "i": i}}, anonymous_id="c")
    # no flush: the drain registered for multiprocessing children delivers them

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=work, args=(n,)) for n in range(3)]
    for p in procs: p.start()
    for p in procs: p.join()
    assert all(p.exitcode == 0 for p in procs)
    with ctx.Pool(2) as pool:
        pool.map(work, [10, 11])
        pool.close()
        pool.join()
"""
    run_python(code)
    assert eventually(lambda: collector.stats("segment")["events"] >= 126, timeout=10)
    stats = collector.stats("segment")
    assert stats["events"] == 1 + 5 * 25 and stats["duplicate_ids"] == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str) -> None:
    def up() -> bool:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return True
        except OSError:
            return False

    assert eventually(up, timeout=30), f"{url} did not come up"


def test_gunicorn_preload_with_two_workers_delivers_every_event_once(collector: Collector) -> None:
    port = free_port()
    env = {**os.environ, "COLLECTOR_URL": collector.url, "PYTHONPATH": str(APPS)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--graceful-timeout", "20", "gunicorn_app:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/warmup")
        pids = set()
        for i in range(60):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hit/{i}", timeout=5) as r:
                pids.add(r.read().decode())
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    stats = collector.stats("segment")
    # 1 warm-up + 60 hits from the workers, 1 event queued by the master before forking.
    assert stats["events"] == 62, err
    assert stats["unique_ids"] == 62 and stats["duplicate_ids"] == 0
    hits = [m for r in collector.requests("segment") for m in r["body"]["batch"]]
    assert sum(1 for m in hits if m["event"] == "master_started") == 1

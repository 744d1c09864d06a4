"""Shared fixtures: one real collector process for the session, reset before every test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
VISITOR = "550e8400-e29b-41d4-a716-446655440000"

# No TRACKLANE_* variable of the machine may fill a field in these tests.
for _name in [n for n in os.environ if n.startswith("TRACKLANE_") and n != "TRACKLANE_COLLECTOR_BIN"]:
    del os.environ[_name]


class Collector:
    def __init__(self, url: str, process: subprocess.Popen[str]) -> None:
        self.url = url
        self.process = process

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def reset(self) -> None:
        self._call("DELETE", "/_faults")
        self._call("POST", "/_reset")

    def stats(self, destination: str = "total") -> dict[str, Any]:
        return self._call("GET", "/_stats")[destination]  # type: ignore[no-any-return]

    def requests(self, destination: str | None = None) -> list[dict[str, Any]]:
        query = f"?destination={destination}" if destination else ""
        return self._call("GET", "/_requests" + query)  # type: ignore[no-any-return]

    def fault(self, **fault: Any) -> None:
        self._call("POST", "/_faults", fault)

    def config(self, **config: Any) -> None:
        self._call("POST", "/_config", config)

    def destination(self, kind: str, **extra: Any) -> dict[str, Any]:
        url = self.url
        base: dict[str, dict[str, Any]] = {
            "webanalyzer": {"api_key": "test-wa-key", "website_id": 1, "base_url": f"{url}/api/v1"},
            "koala": {"public_key": "test-koala-key", "base_url": url},
            "silktide": {"property_key": "8bce2be8c07a84a70e7104634b42878b", "endpoint_url": f"{url}/v1/events"},
            "tracardi": {"source_id": "source-id", "base_url": url},
            "dreamdata": {"api_key": "test-dd-key", "base_url": url},
            "segment": {"write_key": "test-segment-key", "base_url": f"{url}/segment"},
        }
        return {"type": kind, **base[kind], **extra}


def collector_bin() -> str:
    env = os.environ.get("TRACKLANE_COLLECTOR_BIN")
    if env and Path(env).exists():
        return env
    path = ROOT / "target" / "debug" / "tracklane-collector"
    if not path.exists():
        subprocess.run(["cargo", "build", "-p", "tracklane-collector"], cwd=ROOT, check=True)
    return str(path)


@pytest.fixture(scope="session")
def collector_session() -> Any:
    process = subprocess.Popen(
        [collector_bin(), "--port", "0"], stdout=subprocess.PIPE, text=True, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    url = line.strip().rsplit(" ", 1)[-1]
    assert url.startswith("http://127.0.0.1:"), line
    yield Collector(url, process)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def collector(collector_session: Collector) -> Collector:
    collector_session.reset()
    return collector_session


#: Options that make delivery and retries fast in tests.
FAST = {"flush_interval_ms": 50, "retry_base_ms": 20, "retry_cap_ms": 200}


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def run_python(code: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None) -> str:
    """Runs `code` in a fresh interpreter (with a timeout, so a hang fails instead of wedging)."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:{result.stdout}\nstderr:{result.stderr}"
    return result.stdout


def event_context() -> dict[str, Any]:
    """A context every collector accepts (Silktide needs ip and user agent)."""
    return {"ip": "84.14.132.114", "user_agent": "Mozilla/5.0", "url": "https://example.com/"}

"""Fixtures for the example tests: one real collector process per session (reset before every
test) and the ``TRACKLANE_*`` environment that points each destination at it.

The examples read every key and URL from ``TRACKLANE_*`` variables, so the tests configure
them exactly as a deployment would: through the environment, never through code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

EXAMPLES = Path(__file__).resolve().parent
ROOT = EXAMPLES.parents[1]

# No TRACKLANE_* variable of the machine may fill a field in these tests.
for _name in [n for n in os.environ if n.startswith("TRACKLANE_") and n != "TRACKLANE_COLLECTOR_BIN"]:
    del os.environ[_name]

#: The keys the collector accepts by default (see `tracklane-collector --help`).
WA_KEY = "test-wa-key"
KOALA_KEY = "test-koala-key"
SILKTIDE_KEY = "8bce2be8c07a84a70e7104634b42878b"
TRACARDI_SOURCE = "source-id"
DREAMDATA_KEY = "test-dd-key"


class Collector:
    """The local collector's control API (`/_requests`, `/_faults`, `/_reset`)."""

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

    def requests(self, destination: str) -> list[dict[str, Any]]:
        """Every request the destination's API received, in arrival order."""
        return self._call("GET", f"/_requests?destination={destination}")  # type: ignore[no-any-return]

    def accepted(self, destination: str) -> list[dict[str, Any]]:
        """The requests the collector validated and stored."""
        return [r for r in self.requests(destination) if r["accepted"]]

    def fault(self, **fault: Any) -> None:
        self._call("POST", "/_faults", fault)

    def webanalyzer_events(self) -> list[dict[str, Any]]:
        """Stored Web Analyzer events, whether they came one per request or in a batch."""
        events: list[dict[str, Any]] = []
        for r in self.accepted("webanalyzer"):
            events.extend(r["body"]["events"] if r["path"].endswith("/batch") else [r["body"]])
        return events

    def segment_spec_messages(self, destination: str = "dreamdata") -> list[dict[str, Any]]:
        return [m for r in self.accepted(destination) for m in r["body"]["batch"]]

    def environment(self) -> dict[str, str]:
        """``TRACKLANE_*`` variables for every destination, pointed at this collector."""
        return {
            "TRACKLANE_WEBANALYZER_API_KEY": WA_KEY,
            "TRACKLANE_WEBANALYZER_WEBSITE_ID": "1",
            "TRACKLANE_WEBANALYZER_BASE_URL": f"{self.url}/api/v1",
            "TRACKLANE_KOALA_PUBLIC_KEY": KOALA_KEY,
            "TRACKLANE_KOALA_BASE_URL": self.url,
            "TRACKLANE_SILKTIDE_PROPERTY_KEY": SILKTIDE_KEY,
            "TRACKLANE_SILKTIDE_ENDPOINT_URL": f"{self.url}/v1/events",
            "TRACKLANE_TRACARDI_BASE_URL": self.url,
            "TRACKLANE_TRACARDI_SOURCE_ID": TRACARDI_SOURCE,
            "TRACKLANE_DREAMDATA_API_KEY": DREAMDATA_KEY,
            "TRACKLANE_DREAMDATA_BASE_URL": self.url,
            # Retries in tests: milliseconds, not the production seconds.
            "TRACKLANE_RETRY_BASE_MS": "20",
            "TRACKLANE_RETRY_CAP_MS": "200",
        }


def collector_bin() -> str:
    env = os.environ.get("TRACKLANE_COLLECTOR_BIN")
    if env and Path(env).exists():
        return env
    path = ROOT / "target" / "debug" / "tracklane-collector"
    if not path.exists():
        subprocess.run(["cargo", "build", "-p", "tracklane-collector"], cwd=ROOT, check=True)
    return str(path)


@pytest.fixture(scope="session")
def collector_session() -> Iterator[Collector]:
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


@pytest.fixture
def tracklane_env(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The collector's ``TRACKLANE_*`` variables, set in this process (for in-process examples)
    and returned (for examples run as scripts). The module-level client is closed afterwards,
    so no test inherits another's configuration."""
    import tracklane

    env = collector.environment()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env
    tracklane.close(0)


def run_script(script: str, env: dict[str, str], *args: str, expect_exit: int = 0) -> subprocess.CompletedProcess[str]:
    """Runs an example the way a user would (``python examples/python/<script>``), with a
    timeout so a hang fails the test instead of wedging the suite."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert result.returncode == expect_exit, (
        f"exit {result.returncode}\nstdout:{result.stdout}\nstderr:{result.stderr}"
    )
    return result


@pytest.fixture
def run() -> Any:
    return run_script

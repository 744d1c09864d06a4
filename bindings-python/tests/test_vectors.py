"""The shared vectors (tests/vectors/), run through a real tracklane.Client and the collector.

Encode vectors: the calls go through the client to the local collector and the body it
received is compared with the vector's (ignored top-level keys dropped, empty objects equal
to absent ones, gzip already undone by the collector). Rule vectors: the outcome names the
code and field. Config vectors: the constructor raises ConfigurationError with them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import tracklane
from conftest import Collector

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"


def load() -> list[dict[str, Any]]:
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        out.extend(json.loads(path.read_text()))
    return out


ALL = load()


def kind_of(vector: dict[str, Any]) -> str:
    if "expect" in vector:
        return "encode"
    if "config_error" in vector:
        return "config"
    return "rule"


def test_vectors_are_present() -> None:
    assert len(ALL) >= 120
    assert {kind_of(v) for v in ALL} == {"encode", "rule", "config"}


def apply_fill(call: dict[str, Any], fill: dict[str, Any]) -> None:
    *parents, last = fill["path"]
    target = call
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = fill["text"] * fill["count"]


#: Where each collector lives on the local test double, below its origin.
COLLECTOR_PREFIX = {"segment": "/segment"}
DEFAULT_BASE_PATH = {"webanalyzer": "/api/v1"}


def pointed_at(destination: dict[str, Any], url: str) -> dict[str, Any]:
    d = dict(destination)
    kind = d["type"]
    if kind == "silktide":
        d["endpoint_url"] = url + urlsplit(d["endpoint_url"]).path
        return d
    path = urlsplit(d["base_url"]).path.rstrip("/") if "base_url" in d else DEFAULT_BASE_PATH.get(kind, "")
    d["base_url"] = url + COLLECTOR_PREFIX.get(kind, "") + path
    return d


def send(client: tracklane.Client, call: dict[str, Any]) -> tracklane.TrackResult:
    kw = {k: call[k] for k in ("context", "timestamp", "message_id") if k in call}
    kind = call["kind"]
    if kind == "track":
        # A missing name is sent as "" (None is a TypeError in Python; "" breaks the rule).
        return client.track(
            call.get("event") or "",
            call.get("properties"),
            user_id=call.get("user_id"),
            anonymous_id=call.get("anonymous_id"),
            session_id=call.get("session_id"),
            **kw,
        )
    if kind == "identify":
        return client.identify(
            call.get("user_id"),
            call.get("traits"),
            anonymous_id=call.get("anonymous_id"),
            session_id=call.get("session_id"),
            **kw,
        )
    if kind == "alias":
        return client.alias(call.get("previous_id"), call.get("user_id"), **kw)  # type: ignore[arg-type]
    if kind == "page":
        return client.page(
            call.get("event"),
            call.get("properties"),
            user_id=call.get("user_id"),
            anonymous_id=call.get("anonymous_id"),
            session_id=call.get("session_id"),
            **kw,
        )
    return client.group(
        call.get("group_id"),  # type: ignore[arg-type]
        call.get("traits"),
        user_id=call.get("user_id"),
        anonymous_id=call.get("anonymous_id"),
        **kw,
    )


def drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v != {}}
    if isinstance(value, list):
        return [drop_empty(v) for v in value]
    return value


def normalize(body: Any, ignore: list[str]) -> Any:
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in ignore}
    return drop_empty(body)


@pytest.mark.parametrize("vector", [v for v in ALL if kind_of(v) == "encode"], ids=lambda v: v["name"])
def test_encode_vector(vector: dict[str, Any], collector: Collector) -> None:
    dest = pointed_at(vector["destination"], collector.url)
    client = tracklane.Client([dest], flush_interval_ms=60_000, max_retry_duration_ms=0, strict=True)
    try:
        for call in vector["calls"]:
            result = send(client, call)
            assert result.status == "queued", (result, result.errors)
        client.flush(10)
    finally:
        client.close(1)
    recorded = collector.requests(dest["type"])
    assert recorded, "the collector received nothing"
    request = recorded[0]
    expect = vector["expect"]
    assert request["method"] == expect["method"]
    want_path = urlsplit(expect["url"]).path
    assert request["path"] == COLLECTOR_PREFIX.get(dest["type"], "") + want_path
    headers = request["headers"]
    for name, want in expect["headers"].items():
        got = headers.get(name)
        if name == "content-encoding" and got == "gzip":
            got = "gzip"
        assert got == want, f"header {name}"
    ignore = vector.get("ignore", [])
    assert normalize(request["body"], ignore) == normalize(expect["body"], ignore)


@pytest.mark.parametrize("vector", [v for v in ALL if kind_of(v) == "rule"], ids=lambda v: v["name"])
def test_rule_vector(vector: dict[str, Any], collector: Collector) -> None:
    call = json.loads(json.dumps(vector["call"]))
    for fill in vector.get("fill", []):
        apply_fill(call, fill)
    client = tracklane.Client([pointed_at(vector["destination"], collector.url)], flush_interval_ms=60_000)
    try:
        result = send(client, call)
    finally:
        client.close(0)
    if vector.get("skipped"):
        assert result.status == "skipped", result
        return
    assert result.status == "rejected", result
    assert not result
    error = result.errors[0]
    assert isinstance(error, tracklane.ValidationError)
    assert {"code": error.code, "field": error.field} == vector["error"]


@pytest.mark.parametrize("vector", [v for v in ALL if kind_of(v) == "config"], ids=lambda v: v["name"])
def test_config_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(tracklane.ConfigurationError) as raised:
        tracklane.Client([vector["destination"]])
    assert {"code": raised.value.code, "field": raised.value.field} == vector["config_error"]

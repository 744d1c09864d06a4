"""The client API against the real collector: destinations, outcomes, errors, values."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import enum
import logging
import threading
import uuid
from typing import Any

import pytest
import tracklane
from conftest import FAST, VISITOR, Collector, event_context, eventually, run_python

KINDS = ["webanalyzer", "koala", "silktide", "tracardi", "dreamdata", "segment"]


def client_for(collector: Collector, *kinds: str, **options: Any) -> tracklane.Client:
    return tracklane.Client([collector.destination(k) for k in kinds or ("segment",)], **{**FAST, **options})


@pytest.mark.parametrize("kind", KINDS)
def test_each_destination_delivers_end_to_end(collector: Collector, kind: str) -> None:
    with client_for(collector, kind) as client:
        results = [
            client.track("purchase", {"order_id": f"ORD-{i}"}, anonymous_id=VISITOR, user_id="user-1",
                         context=event_context())
            for i in range(3)
        ]
        assert all(results) and all(r.destinations == [kind] for r in results)
        report = client.flush(10)
        assert client.stats()["delivered"] == 3
    assert report["pending"] == 0 and report["failed"] == 0
    stats = collector.stats(kind)
    assert stats["events"] == 3 and stats["duplicate_ids"] == 0


def test_track_returns_an_immutable_result(collector: Collector) -> None:
    with client_for(collector) as client:
        result = client.track("signup", {"plan": "pro"}, anonymous_id="a-1", message_id="m-fixed")
        assert result.status == "queued" and bool(result) is True
        assert result.message_id == "m-fixed" and result.destinations == ["segment"] and result.errors == []
        with pytest.raises(AttributeError):
            result.status = "x"  # type: ignore[misc]


def test_duplicate_message_ids_are_dropped(collector: Collector) -> None:
    with client_for(collector) as client:
        first = client.track("a", anonymous_id="x", message_id="same-id")
        second = client.track("a", anonymous_id="x", message_id="same-id")
        assert first.status == "queued" and second.status == "duplicate" and not second
        client.flush(10)
        assert client.stats()["duplicates"] == 1
    assert collector.stats("segment")["events"] == 1


def test_identify_alias_page_group(collector: Collector) -> None:
    with client_for(collector) as client:
        assert client.identify("u1", {"email": "a@b.c"})
        assert client.alias("anon-1", "u1")
        assert client.page("Home", {"path": "/"}, anonymous_id="anon-1")
        assert client.group("g1", {"name": "Acme"}, user_id="u1")
        client.flush(10)
    types = [m["type"] for r in collector.requests("segment") for m in r["body"]["batch"]]
    assert sorted(types) == ["alias", "group", "identify", "page"]


def test_skipped_when_no_destination_has_the_call(collector: Collector) -> None:
    with client_for(collector, "webanalyzer") as client:
        assert client.alias("a", "b").status == "skipped"


def test_rule_violation_is_reported_not_raised_and_logged(collector: Collector, caplog: Any) -> None:
    with client_for(collector, "webanalyzer") as client, caplog.at_level(logging.WARNING, "tracklane"):
        result = client.track("x", {f"k{i}": i for i in range(11)}, anonymous_id=VISITOR)
        assert result.status == "rejected"
        (error,) = result.errors
        assert error.code == "webanalyzer.payload.too_many_keys" and error.destination == "webanalyzer"
    assert any("too_many_keys" in r.getMessage() for r in caplog.records)


def test_a_flood_of_rejections_logs_the_first_few_then_a_tally(collector: Collector, caplog: Any) -> None:
    with client_for(collector, "webanalyzer") as client, caplog.at_level(logging.WARNING, "tracklane"):
        results = [client.track("x", {f"k{i}": i for i in range(11)}, anonymous_id=VISITOR) for _ in range(1_000)]
    assert all(r.status == "rejected" for r in results)
    logged = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(logged) == 11, logged[-3:]
    assert "1000 events rejected so far" in logged[-1]


def test_strict_mode_raises_validation_error(collector: Collector) -> None:
    with client_for(collector, "webanalyzer", strict=True) as client:
        with pytest.raises(tracklane.ValidationError) as raised:
            client.track("x", {f"k{i}": i for i in range(11)}, anonymous_id=VISITOR)
        assert raised.value.code == "webanalyzer.payload.too_many_keys"
        assert raised.value.field == "properties"


def test_one_destination_rejecting_does_not_stop_the_others(collector: Collector) -> None:
    with client_for(collector, "webanalyzer", "segment") as client:
        result = client.track("x", {f"k{i}": i for i in range(11)}, anonymous_id=VISITOR)
        assert result.status == "queued" and result.destinations == ["segment"]
        assert [e.code for e in result.errors] == ["webanalyzer.payload.too_many_keys"]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"properties": 5}, "properties: int is not a dict"),
        ({"event": None}, "event: NoneType is not a str"),
        ({"properties": {"s": {1, 2}}}, "properties.s: set"),
        ({"properties": {"items": [1, 2, {"price": object()}]}}, "properties.items[2].price: object"),
        ({"properties": {1: "a"}}, "key 1 is not a str"),
        ({"properties": {"b": b"x"}}, "properties.b: bytes"),
        ({"user_id": 1.5}, "user_id: float is not a str"),
        ({"context": "x"}, "context: str is not a dict"),
        ({"timestamp": [1]}, "timestamp: list"),
    ],
)
def test_wrong_types_raise_type_error_naming_the_path(
    collector: Collector, kwargs: dict[str, Any], needle: str
) -> None:
    with client_for(collector) as client:
        args = {"event": "e", "anonymous_id": "a", **kwargs}
        with pytest.raises(TypeError) as raised:
            client.track(args.pop("event"), args.pop("properties", None), **args)
        assert needle in str(raised.value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), decimal.Decimal("NaN")])
def test_non_finite_numbers_are_rejected_with_their_path(collector: Collector, bad: Any) -> None:
    with client_for(collector) as client:
        result = client.track("e", {"items": [{"price": bad}]}, anonymous_id="a")
        assert result.status == "rejected"
        assert (result.errors[0].code, result.errors[0].field) == ("value.not_finite", "properties.items[0].price")
    with client_for(collector, strict=True) as client:
        with pytest.raises(tracklane.ValidationError) as raised:
            client.track("e", {"price": bad}, anonymous_id="a")
        assert raised.value.code == "value.not_finite" and raised.value.field == "properties.price"


def test_circular_and_too_deep_structures_are_rejected(collector: Collector) -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    deep: Any = 1
    for _ in range(40):
        deep = {"a": deep}
    with client_for(collector) as client:
        for value in (loop, deep):
            result = client.track("e", {"nested": value}, anonymous_id="a")
            assert result.status == "rejected"
            assert (result.errors[0].code, result.errors[0].field) == ("value.too_deep", "properties.nested")


class Plan(enum.Enum):
    PRO = "pro"


def test_value_conversion(collector: Collector) -> None:
    aware = dt.datetime(2024, 3, 1, 13, 0, 0, 500_000, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    props = {
        "aware": aware,
        "naive": dt.datetime(2024, 3, 1, 12, 0, 0),
        "day": dt.date(2024, 3, 1),
        "amount": decimal.Decimal("49.99"),
        "id": uuid.UUID(VISITOR),
        "plan": Plan.PRO,
        "big": 2**70,
        "neg": -(2**63),
        "tuple": (1, "a", None, True),
        "nested": {"list": [1.5, {"x": False}]},
    }
    with client_for(collector) as client:
        assert client.track("e", props, anonymous_id="a", timestamp=1_700_000_000.25)
        client.flush(10)
    (message,) = collector.requests("segment")[0]["body"]["batch"]
    assert message["properties"] == {
        "aware": "2024-03-01T12:00:00.500Z",
        "naive": "2024-03-01T12:00:00.000Z",
        "day": "2024-03-01",
        "amount": 49.99,
        "id": VISITOR,
        "plan": "pro",
        "big": str(2**70),
        "neg": -(2**63),
        "tuple": [1, "a", None, True],
        "nested": {"list": [1.5, {"x": False}]},
    }
    assert message["timestamp"] == "2023-11-14T22:13:20.250Z"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2024-03-01T12:00:00Z", "2024-03-01T12:00:00.000Z"),
        (dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc), "2024-03-01T12:00:00.000Z"),
        (1709294400, "2024-03-01T12:00:00.000Z"),
    ],
)
def test_timestamp_forms(collector: Collector, timestamp: Any, expected: str) -> None:
    with client_for(collector) as client:
        client.track("e", anonymous_id="a", timestamp=timestamp)
        client.flush(10)
    assert collector.requests("segment")[0]["body"]["batch"][0]["timestamp"] == expected


def test_unparseable_timestamp_is_a_rule(collector: Collector) -> None:
    with client_for(collector) as client:
        result = client.track("e", anonymous_id="a", timestamp="yesterday")
        assert result.status == "rejected" and result.errors[0].code == "message.timestamp.invalid"


def test_closed_client_raises(collector: Collector) -> None:
    client = client_for(collector)
    client.close()
    assert client.closed
    with pytest.raises(tracklane.ClientClosedError) as raised:
        client.track("e", anonymous_id="a")
    assert raised.value.code == "client.closed"


def test_configuration_errors_name_code_and_field() -> None:
    with pytest.raises(tracklane.ConfigurationError) as raised:
        tracklane.Client([tracklane.WebAnalyzer(api_key="k" * 20)])
    assert raised.value.code == "config.webanalyzer.invalid" and raised.value.field == "website_id"
    with pytest.raises(tracklane.ConfigurationError) as raised:
        tracklane.Client([tracklane.Stdout()], not_an_option=1)
    assert raised.value.field == "not_an_option"
    with pytest.raises(tracklane.ConfigurationError):
        tracklane.Client()


def test_options_and_destinations_come_from_the_environment(collector: Collector, monkeypatch: Any) -> None:
    monkeypatch.setenv("TRACKLANE_DESTINATIONS", "segment")
    monkeypatch.setenv("TRACKLANE_SEGMENT_WRITE_KEY", "test-segment-key")
    monkeypatch.setenv("TRACKLANE_SEGMENT_BASE_URL", f"{collector.url}/segment")
    monkeypatch.setenv("TRACKLANE_STRICT", "true")
    with tracklane.Client() as client:
        assert client.destination_names == ["segment"] and client.strict
        client.track("e", anonymous_id="a")
        assert client.flush(10)["pending"] == 0
        assert client.stats()["delivered"] == 1


def test_keys_never_appear_in_reprs_or_errors() -> None:
    secret = "sk_live_0123456789abcdef"
    for config in (
        tracklane.WebAnalyzer(api_key=secret, website_id=1),
        tracklane.Segment(write_key=secret),
        tracklane.Dreamdata(api_key=secret),
    ):
        assert secret not in repr(config) and "****cdef" in repr(config)
    with pytest.raises(tracklane.ConfigurationError) as raised:
        tracklane.Client([tracklane.WebAnalyzer(api_key=secret, website_id=1, base_url="http://example.com/x")])
    assert secret not in str(raised.value)
    client = tracklane.Client([tracklane.WebAnalyzer(api_key=secret, website_id=1)])
    assert secret not in repr(client)
    client.close(0)


def test_callbacks_run_off_the_callers_thread_and_their_errors_are_logged(
    collector: Collector, caplog: Any
) -> None:
    seen: list[tuple[str, Any, str]] = []

    def on_delivery(delivery: dict[str, Any]) -> None:
        seen.append(("delivery", delivery, threading.current_thread().name))
        raise RuntimeError("boom in callback")

    def on_error(failures: list[dict[str, Any]]) -> None:
        seen.append(("error", failures, threading.current_thread().name))

    collector.fault(destination="webanalyzer", mode="status", status=401)
    with caplog.at_level(logging.ERROR, "tracklane"):
        client = tracklane.Client(
            [collector.destination("segment"), collector.destination("webanalyzer")],
            on_delivery=on_delivery, on_error=on_error, **FAST,
        )
        client.track("e", anonymous_id=VISITOR, context=event_context())
        client.flush(10)
        client.close()
    kinds = {k for k, _, _ in seen}
    assert kinds == {"delivery", "error"}
    assert all(name != threading.current_thread().name for _, _, name in seen)
    delivery = next(d for k, d, _ in seen if k == "delivery")
    assert delivery["destination"] == "segment" and delivery["status"] == 200
    failures = next(f for k, f, _ in seen if k == "error")
    assert failures[0]["destination"] == "webanalyzer" and failures[0]["status"] == 401
    assert any("on_delivery callback raised" in r.getMessage() for r in caplog.records)


def test_init_reuses_an_identical_client_and_replaces_a_changed_one(collector: Collector) -> None:
    first = tracklane.init([collector.destination("segment")], **FAST)
    again = tracklane.init([collector.destination("segment")], **FAST)
    assert again is first
    other = tracklane.init([collector.destination("segment")], flush_interval_ms=60)
    assert other is not first and first.closed and not other.closed
    tracklane.track_event("invoice_paid", {"amount": "10"}, visitor_id=VISITOR)
    tracklane.flush(10)
    tracklane.close()
    (message,) = collector.requests("segment")[0]["body"]["batch"]
    assert message["event"] == "invoice_paid" and message["anonymousId"] == VISITOR
    assert message["properties"] == {"amount": "10"}


def test_module_level_flush_can_raise_on_failure(collector: Collector) -> None:
    collector.fault(destination="segment", mode="status", status=503, for_ms=60_000)
    client = tracklane.init([collector.destination("segment")], **FAST)
    tracklane.track_event("invoice_paid", visitor_id=VISITOR)
    try:
        tracklane.flush(0.3, raise_on_failure=True)
        raise AssertionError("expected DeliveryError")
    except tracklane.DeliveryError as e:
        assert e.report["pending"] == 1
    finally:
        tracklane.close(0)
    # A retry on the wire when close gave up settles before the next test lifts the outage.
    assert eventually(lambda: client.stats()["held_events"] == 0)


def test_threads_share_one_client(collector: Collector) -> None:
    with client_for(collector, max_queue_events=1_000_000) as client:
        def work(n: int) -> None:
            for i in range(10_000):
                client.track("e", {"t": n, "i": i}, anonymous_id="a")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report = client.flush(60)
        assert client.stats()["delivered"] == 80_000
    assert report["pending"] == 0 and report["failed"] == 0 and report["dropped"] == 0
    stats = collector.stats("segment")
    assert stats["events"] == 80_000 and stats["duplicate_ids"] == 0


def test_callbacks_and_log_records_that_need_the_gil_never_stall_a_tracking_loop(collector: Collector) -> None:
    # track() keeps the GIL while it queues (drop_newest); meanwhile the hooks thread and the
    # runtime's workers wait for it to run callbacks and forward log records, and the callbacks
    # call track() themselves. A core lock held by any of them while it waits would hang this.
    collector.fault(destination="segment", mode="status", status=503, fraction=0.3)
    collector.fault(destination="dreamdata", mode="status", status=401)
    code = f"""
import logging, tracklane
forwarded = []
class Recorder(logging.Handler):
    def emit(self, record):
        forwarded.append(record.levelname)
logging.basicConfig(level=logging.DEBUG, handlers=[Recorder()])
hooked = []
def on_delivery(delivery):
    hooked.append(client.track("delivered", anonymous_id="hook"))
def on_error(failures):
    hooked.append(client.track("failed", anonymous_id="hook"))
client = tracklane.Client([{collector.destination("segment")!r}, {collector.destination("dreamdata")!r}],
                          on_delivery=on_delivery, on_error=on_error, flush_at=20, flush_interval_ms=5,
                          retry_base_ms=5, retry_cap_ms=20, max_queue_events=1_000_000)
for i in range(5_000):
    client.track("e", {{"i": i}}, anonymous_id="a")
client.flush(60)
client.close(5)
print(len(hooked) > 0, all(r.status == "queued" for r in hooked), {{"DEBUG", "WARNING"}} <= set(forwarded))
"""
    assert run_python(code, timeout=120).split() == ["True", "True", "True"]


def test_debug_records_from_delivery_reach_python_only_when_its_level_allows(collector: Collector, caplog: Any) -> None:
    def retried_once() -> bool:
        caplog.clear()
        collector.fault(destination="segment", mode="status", status=503, count=1)
        with client_for(collector) as client:  # a client reads the logger's level when built
            client.track("e", anonymous_id=VISITOR)
            assert client.flush(10)["delivered"] == 1
        return any("retrying in" in r.getMessage() for r in caplog.records)

    with caplog.at_level(logging.DEBUG, "tracklane"):
        assert retried_once()
    with caplog.at_level(logging.INFO, "tracklane"):
        assert not retried_once()


def test_asyncio_flush_and_close_inside_a_running_loop(collector: Collector) -> None:
    async def main() -> dict[str, Any]:
        client = client_for(collector)
        client.track("e", anonymous_id="a")
        report = await client.aflush(10)
        assert client.stats()["delivered"] == 1
        await client.aclose()
        assert client.closed
        return report

    assert asyncio.run(main())["pending"] == 0
    assert collector.stats("segment")["events"] == 1


def test_stats(collector: Collector) -> None:
    with client_for(collector) as client:
        client.track("e", anonymous_id="a")
        client.flush(10)
        stats = client.stats()
    assert stats["calls"] == 1 and stats["delivered"] == 1
    assert stats["destinations"][0]["name"] == "segment"

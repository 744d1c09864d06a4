"""`Client.import_events`: every source type and mapping option, bad rows in the report while good
rows are delivered, re-runs that send nothing twice, the blocking queue, Ctrl-C, the report."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pytest
import tracklane
from conftest import FAST, VISITOR, Collector, eventually, run_python
from tracklane import _import

#: The namespace of ids derived from a key column, pinned in the core (`import/ids.rs`).
KEY_NAMESPACE = uuid.UUID("98ebb3cf-2143-4ebb-9d61-a9844853d8c2")


def quiesce(collector: Collector) -> None:
    """Waits until no request has reached the collector for a moment, then resets it: a client
    of an earlier test that closed with events still being retried must not send them into
    the next test."""
    deadline = time.monotonic() + 5
    seen = -1
    while time.monotonic() < deadline:
        count = collector.stats()["requests"]
        if count == seen:
            break
        seen = count
        time.sleep(0.3)
    collector.reset()


@pytest.fixture(scope="module", autouse=True)
def quiet_collector(collector_session: Collector) -> None:
    quiesce(collector_session)


def segment_client(collector: Collector, **options: Any) -> tracklane.Client:
    return tracklane.Client([collector.destination("segment")], **{**FAST, **options})


def sent(collector: Collector) -> list[dict[str, Any]]:
    """Every event the collector stored for the Segment destination, in arrival order."""
    return [
        event for request in collector.requests("segment") if request["accepted"] for event in request["body"]["batch"]
    ]


def by_event_id(collector: Collector) -> dict[str, dict[str, Any]]:
    return {e["properties"]["id"]: e for e in sent(collector)}


ROWS = [
    {"id": "r0", "event": "signup", "timestamp": "2024-03-01T12:00:00Z", "user_id": "u0", "plan": "free"},
    {"id": "r1", "event": "purchase", "timestamp": "2024-03-02 08:30:00", "user_id": "u1", "amount": 49.5},
    {"id": "r2", "event": "purchase", "timestamp": 1709458200, "anonymous_id": VISITOR, "amount": 10},
]


# --- sources ---------------------------------------------------------------------------------


def test_imports_a_list_of_dicts_keeping_historical_timestamps(collector: Collector) -> None:
    with segment_client(collector) as client:
        report = client.import_events(ROWS, progress=False)
    assert (report.rows_read, report.queued, report.delivered, report.rejected) == (3, 3, 3, 0)
    assert report.complete
    events = by_event_id(collector)
    assert events["r0"]["timestamp"] == "2024-03-01T12:00:00.000Z"
    assert events["r1"]["timestamp"] == "2024-03-02T08:30:00.000Z"
    assert events["r2"]["timestamp"] == "2024-03-03T09:30:00.000Z"
    assert events["r1"]["event"] == "purchase" and events["r1"]["userId"] == "u1"
    assert events["r2"]["anonymousId"] == VISITOR and "userId" not in events["r2"]
    assert events["r1"]["properties"] == {"id": "r1", "amount": 49.5}


def test_imports_a_generator_lazily_in_batches(collector: Collector) -> None:
    pulled: list[int] = []

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(2_500):
            pulled.append(i)
            yield {"event": "tick", "timestamp": 1_700_000_000 + i, "user_id": "u", "n": i}

    with segment_client(collector) as client:
        report = client.import_events(rows(), progress=False)
    assert (report.rows_read, report.queued, report.delivered) == (2_500, 2_500, 2_500)
    assert len(pulled) == 2_500
    assert collector.stats("segment")["unique_ids"] == 2_500


def test_imports_a_csv_file_with_line_numbers_for_bad_rows(collector: Collector, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "\ufeffid,event,timestamp,user_id,plan\n"  # a spreadsheet's byte-order mark
        "c0,signup,2024-03-01T12:00:00Z,u0,free\n"
        "\n"
        'c1,purchase,2024-03-01T12:00:01Z,u1,"multi\nline"\n'
        "c2,,2024-03-01T12:00:02Z,u2,pro\n"
        "c3,purchase,not a date,u3,pro\n"
        "c4,purchase,2024-03-01T12:00:04Z,u4,team,extra\n"
        "c5,purchase,2024-03-01T12:00:05Z,,team\n",
        encoding="utf-8",
    )
    with segment_client(collector) as client:
        report = client.import_events(path, progress=False)
    assert (report.rows_read, report.queued, report.rejected) == (6, 2, 4)
    events = by_event_id(collector)
    assert set(events) == {"c0", "c1"}
    assert events["c0"]["properties"] == {"id": "c0", "plan": "free"}
    assert events["c1"]["properties"] == {"id": "c1", "plan": "multi\nline"}
    failed = {(f.row, f.line): f.code for f in report.failed_rows}
    assert failed == {
        (2, 6): "message.event.required",
        (3, 7): "message.timestamp.invalid",
        (4, 8): "import.row.extra_cells",
        (5, 9): "segment.user_id.required",
    }


def test_imports_tsv_and_gzip_compressed_csv(collector: Collector, tmp_path: Path) -> None:
    tsv = tmp_path / "events.tsv"
    tsv.write_text("event\ttimestamp\tuser_id\nsignup\t2024-03-01\tu1\n")
    compressed = tmp_path / "events.csv.gz"
    with gzip.open(compressed, "wt") as f:
        f.write("event,timestamp,user_id\npurchase,2024-03-02,u2\n")
    with segment_client(collector) as client:
        assert client.import_events(tsv, progress=False).delivered == 1
        assert client.import_events(str(compressed), progress=False).delivered == 1
    assert [(e["event"], e["timestamp"]) for e in sent(collector)] == [
        ("signup", "2024-03-01T00:00:00.000Z"),
        ("purchase", "2024-03-02T00:00:00.000Z"),
    ]


def test_imports_json_lines_and_reports_unreadable_lines(collector: Collector, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        json.dumps({"event": "signup", "timestamp": "2024-03-01T00:00:00Z", "user_id": "u1", "nested": {"a": [1]}}),
        "",
        "{not json",
        "[1, 2]",
        json.dumps({"event": "purchase", "timestamp": 1709251200000, "user_id": "u2", "note": None}),
    ]
    path.write_text("\n".join(lines) + "\n")
    with segment_client(collector) as client:
        report = client.import_events(path, progress=False)
    assert (report.rows_read, report.queued, report.rejected) == (4, 2, 2)
    assert [(f.line, f.code) for f in report.failed_rows] == [
        (3, "import.row.invalid_json"),
        (4, "import.row.not_object"),
    ]
    events = sent(collector)
    assert events[0]["properties"] == {"nested": {"a": [1]}}
    assert events[1]["timestamp"] == "2024-03-01T00:00:00.000Z" and "properties" not in events[1]


def test_imports_a_dataframe_with_typed_and_missing_values(collector: Collector) -> None:
    frame = pd.DataFrame(
        {
            "event": ["signup", "purchase", "purchase"],
            "timestamp": pd.to_datetime(
                ["2024-03-01 12:00:00", "2024-03-01 13:00:00.250", "2024-03-01 14:00"], format="ISO8601"
            ),
            "user_id": [12, None, 14],  # a float column with a gap: ids stay "12", not "12.0"
            "anonymous_id": [None, VISITOR, None],
            "amount": [1.5, float("nan"), 3.0],
            "count": pd.array([1, pd.NA, 3], dtype="Int64"),
            "paid": [True, False, True],
        }
    )
    with segment_client(collector) as client:
        report = client.import_events(frame, progress=False)
    assert (report.rows_read, report.delivered) == (3, 3)
    assert report.source == "DataFrame (3 rows)"
    first, second, third = sent(collector)
    assert (first["userId"], first["timestamp"]) == ("12", "2024-03-01T12:00:00.000Z")
    assert first["properties"] == {"amount": 1.5, "count": 1, "paid": True}
    assert second["anonymousId"] == VISITOR and "userId" not in second
    assert second["timestamp"] == "2024-03-01T13:00:00.250Z"
    assert second["properties"] == {"paid": False}
    assert third["userId"] == "14"


def test_a_timezone_aware_dataframe_column_is_converted_to_utc(collector: Collector) -> None:
    stamps = pd.to_datetime(["2024-03-01 12:00:00"]).tz_localize("Europe/Paris")
    frame = pd.DataFrame({"event": ["e"], "timestamp": stamps, "user_id": ["u"]})
    with segment_client(collector) as client:
        client.import_events(frame, progress=False)
    assert sent(collector)[0]["timestamp"] == "2024-03-01T11:00:00.000Z"


def test_rejects_sources_it_cannot_read(collector: Collector, tmp_path: Path) -> None:
    with segment_client(collector) as client:
        with pytest.raises(TypeError, match="iterable of dicts"):
            client.import_events(42, progress=False)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="format="):
            client.import_events(tmp_path / "events.xlsx", progress=False)
        with pytest.raises(FileNotFoundError):
            client.import_events(tmp_path / "missing.csv", progress=False)
        rows = client.import_events([{"event": "e", "timestamp": 1, "user_id": "u"}, 5], progress=False)  # type: ignore[list-item]
    assert [f.code for f in rows.failed_rows] == ["import.row.not_object"]


def test_importing_tracklane_does_not_import_pandas_or_tqdm() -> None:
    out = run_python("import sys, tracklane; print('pandas' in sys.modules, 'tqdm' in sys.modules)")
    assert out.strip() == "False False"


# --- mapping ---------------------------------------------------------------------------------


def test_columns_map_to_fields_by_name(collector: Collector) -> None:
    rows = [{"name": "signup", "when": "2024-03-01T00:00:00Z", "uid": "u1", "vid": VISITOR, "plan": "pro"}]
    with segment_client(collector) as client:
        client.import_events(rows, event="name", timestamp="when", user_id="uid", anonymous_id="vid", progress=False)
    (event,) = sent(collector)
    assert (event["event"], event["userId"], event["anonymousId"]) == ("signup", "u1", VISITOR)
    assert event["properties"] == {"plan": "pro"}


def test_fields_can_be_computed_by_callables(collector: Collector) -> None:
    rows = [{"kind": "order", "day": "2024-03-01", "customer": 7, "total": "10.5"}]
    with segment_client(collector) as client:
        client.import_events(
            rows,
            event=lambda r: f"{r['kind']} placed",
            timestamp=lambda r: r["day"] + "T09:00:00+01:00",
            user_id=lambda r: f"cust-{r['customer']}",
            properties=lambda r: {"total": float(r["total"]), "currency": "EUR"},
            context=lambda r: {"ip": "84.14.132.114"},
            progress=False,
        )
    (event,) = sent(collector)
    assert (event["event"], event["userId"], event["timestamp"]) == (
        "order placed",
        "cust-7",
        "2024-03-01T08:00:00.000Z",
    )
    assert event["properties"] == {"total": 10.5, "currency": "EUR"}
    assert event["context"]["ip"] == "84.14.132.114"


def test_properties_can_be_listed_or_excluded(collector: Collector) -> None:
    rows = [{"event": "e", "timestamp": 1, "user_id": "u", "a": 1, "b": 2, "secret": "x"}]
    with segment_client(collector) as client:
        client.import_events(rows, properties=["a"], message_id=lambda r: "listed", progress=False)
        client.import_events(rows, exclude=["secret"], message_id=lambda r: "excluded", progress=False)
    listed, excluded = sent(collector)
    assert listed["properties"] == {"a": 1}
    assert excluded["properties"] == {"a": 1, "b": 2}


def test_a_fixed_context_applies_to_every_row(collector: Collector) -> None:
    with segment_client(collector) as client:
        client.import_events(ROWS[:1], context={"url": "https://example.com/import"}, progress=False)
    assert sent(collector)[0]["context"]["page"]["url"] == "https://example.com/import"


def test_user_and_anonymous_id_columns_are_optional_but_can_be_turned_off(collector: Collector) -> None:
    rows = [{"event": "e", "timestamp": 1, "user_id": "u1", "anonymous_id": VISITOR}]
    with segment_client(collector) as client:
        client.import_events(rows, user_id=None, progress=False)
    (event,) = sent(collector)
    assert "userId" not in event and event["anonymousId"] == VISITOR
    assert event["properties"] == {"user_id": "u1"}


def test_a_mapped_column_missing_from_the_file_fails_before_sending(collector: Collector, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("name,ts\nsignup,2024-03-01\n")
    with segment_client(collector) as client:
        with pytest.raises(ValueError, match="no column named 'event'"):
            client.import_events(path, progress=False)
        with pytest.raises(ValueError, match="'uid'"):
            client.import_events(path, event="name", timestamp="ts", user_id="uid", progress=False)
    assert collector.stats()["requests"] == 0


def test_a_failing_callable_rejects_only_its_row(collector: Collector) -> None:
    rows = [{"event": "e", "timestamp": 1, "user_id": "u", "n": n} for n in (1, 0, 2)]
    with segment_client(collector) as client:
        report = client.import_events(rows, properties=lambda r: {"inverse": 1 / r["n"]}, progress=False)
    assert (report.queued, report.rejected) == (2, 1)
    (failed,) = report.failed_rows
    assert (failed.row, failed.code) == (1, "import.mapping_failed")
    assert "ZeroDivisionError" in failed.message and failed.values == rows[1]


# --- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01T12:00:00.5+01:00", "2024-03-01T11:00:00.500Z"),
        ("2024-03-01 12:00", "2024-03-01T12:00:00.000Z"),
        ("2024-03-01 12:00:00 UTC", "2024-03-01T12:00:00.000Z"),
        ("1709294400", "2024-03-01T12:00:00.000Z"),
        (1709294400, "2024-03-01T12:00:00.000Z"),
        (1709294400.25, "2024-03-01T12:00:00.250Z"),
        (1709294400123, "2024-03-01T12:00:00.123Z"),
        (1709294400123456789, "2024-03-01T12:00:00.123Z"),
        (dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))), "2024-03-01T17:00:00.000Z"),
        (dt.datetime(2024, 3, 1, 12, 0), "2024-03-01T12:00:00.000Z"),
        (dt.date(2024, 3, 1), "2024-03-01T00:00:00.000Z"),
    ],
)
def test_timestamps_are_parsed_from_strings_datetimes_and_epoch_numbers(
    collector: Collector, value: Any, expected: str
) -> None:
    with segment_client(collector) as client:
        report = client.import_events([{"event": "e", "timestamp": value, "user_id": "u"}], progress=False)
    assert report.delivered == 1, report
    assert sent(collector)[0]["timestamp"] == expected


def test_epoch_unit_can_be_given(collector: Collector) -> None:
    with segment_client(collector) as client:
        client.import_events([{"event": "e", "timestamp": 1000, "user_id": "u"}], epoch_unit="ms", progress=False)
    assert sent(collector)[0]["timestamp"] == "1970-01-01T00:00:01.000Z"


def test_unparseable_and_missing_timestamps_are_rejected_with_a_clear_error(collector: Collector) -> None:
    rows = [
        {"event": "e", "timestamp": "31/02/2024", "user_id": "u"},
        {"event": "e", "user_id": "u"},
        {"event": "e", "timestamp": True, "user_id": "u"},
    ]
    with segment_client(collector) as client:
        report = client.import_events(rows, progress=False)
    assert report.rejected == 3 and collector.stats()["requests"] == 0
    first, second, third = report.failed_rows
    assert first.code == "message.timestamp.invalid" and '"31/02/2024" is not a date-time' in first.message
    assert second.code == "message.timestamp.required" and "timestamp=None" in second.message
    assert third.code == "message.timestamp.invalid"


def test_timestamp_none_stamps_events_with_the_import_time(collector: Collector) -> None:
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    with segment_client(collector) as client:
        client.import_events(
            [{"event": "e", "user_id": "u", "timestamp": "2001-01-01"}], timestamp=None, progress=False
        )
    (event,) = sent(collector)
    assert dt.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")) > before
    assert event["properties"] == {"timestamp": "2001-01-01"}


def test_warns_when_a_destination_keeps_no_timestamp(collector: Collector) -> None:
    destinations = [collector.destination("webanalyzer"), collector.destination("segment")]
    rows = [{"event": "e", "timestamp": "2024-03-01", "anonymous_id": VISITOR}]
    with tracklane.Client(destinations, **FAST) as client:
        assert client.destinations_without_timestamp == ["webanalyzer"]
        with pytest.warns(UserWarning, match="webanalyzer keep no timestamp"):
            report = client.import_events(rows, progress=False)
    assert report.delivered == 2
    assert report.warnings and "webanalyzer" in report.warnings[0]


# --- bad rows --------------------------------------------------------------------------------


def test_bad_rows_land_in_the_report_while_good_rows_are_delivered(collector: Collector) -> None:
    rows = [
        {"event": "ok", "timestamp": "2024-03-01", "anonymous_id": VISITOR, "n": 0},
        {"event": "", "timestamp": "2024-03-01", "anonymous_id": VISITOR, "n": 1},
        {"event": "ok", "timestamp": "someday", "anonymous_id": VISITOR, "n": 2},
        {"event": "ok", "timestamp": "2024-03-01", "anonymous_id": VISITOR, "n": 3, "note": "x" * 300},
        {"event": "ok", "timestamp": "2024-03-01", "anonymous_id": VISITOR, "n": 4},
    ]
    with tracklane.Client([collector.destination("webanalyzer")], **FAST) as client:
        with pytest.warns(UserWarning):
            report = client.import_events(rows, progress=False)
    assert (report.rows_read, report.queued, report.rejected, report.delivered) == (5, 2, 3, 2)
    assert [(f.row, f.code) for f in report.failed_rows] == [
        (1, "message.event.required"),
        (2, "message.timestamp.invalid"),
        (3, "webanalyzer.payload.value_too_long"),
    ]
    rejected = report.failed_rows[2]
    assert (rejected.destination, rejected.field) == ("webanalyzer", "properties.note")
    assert rejected.values is not None and rejected.values["n"] == 3
    assert eventually(lambda: collector.stats("webanalyzer")["events"] == 2)


def test_a_row_one_destination_rejects_still_goes_to_the_others(collector: Collector) -> None:
    rows = [{"event": "ok", "timestamp": "2024-03-01", "anonymous_id": VISITOR, "note": "x" * 300}]
    destinations = [collector.destination("webanalyzer"), collector.destination("segment")]
    with tracklane.Client(destinations, **FAST) as client:
        with pytest.warns(UserWarning):
            report = client.import_events(rows, progress=False)
    assert (report.queued, report.rejected, report.delivered) == (1, 0, 1)
    assert report.destinations["segment"]["delivered"] == 1
    (partial,) = report.failed_rows
    assert (partial.row, partial.destination, partial.code) == (0, "webanalyzer", "webanalyzer.payload.value_too_long")


def test_errors_raise_stops_at_the_first_bad_row(collector: Collector) -> None:
    rows = [{"event": name, "timestamp": 1, "user_id": "u"} for name in ("a", "b", "", "d")]
    with segment_client(collector) as client:
        with pytest.raises(tracklane.ValidationError) as caught:
            client.import_events(rows, errors="raise", progress=False)
    error: Any = caught.value
    assert (error.code, error.row) == ("message.event.required", 2)
    assert error.report.queued == 2 and error.report.rows_read == 3
    assert [e["event"] for e in sent(collector)] == ["a", "b"]


def test_rejections_are_not_logged_one_line_per_row(collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    rows = [{"event": "", "timestamp": 1, "user_id": "u"}] * 50
    with segment_client(collector) as client, caplog.at_level("WARNING", logger="tracklane"):
        report = client.import_events(rows, message_id=lambda r: str(id(r)), progress=False)
    assert report.rejected == 50
    assert not [r for r in caplog.records if "rejected" in r.getMessage()]


# --- ids and re-runs -------------------------------------------------------------------------


def test_running_the_same_import_twice_sends_nothing_twice(collector: Collector, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "event,timestamp,user_id,plan\n" + "".join(f"e,2024-03-01T00:00:{i:02d}Z,u{i},p\n" for i in range(20))
    )
    with segment_client(collector) as client:
        first = client.import_events(path, progress=False)
        again = client.import_events(path, progress=False)
    assert (first.queued, first.delivered) == (20, 20)
    assert (again.rows_read, again.queued, again.duplicates, again.delivered) == (20, 0, 20, 0)
    assert again.complete
    # A new process (a new client, an empty dedupe store) sends the same ids: collectors that
    # de-duplicate by message id keep one copy.
    with segment_client(collector) as fresh:
        fresh.import_events(path, progress=False)
    stats = collector.stats("segment")
    assert (stats["events"], stats["unique_ids"]) == (40, 20)


def test_ids_derive_from_a_key_column_as_uuid_v5(collector: Collector) -> None:
    rows = [{"order": "ORD-1", "event": "purchase", "timestamp": 1, "user_id": "u"}]
    with segment_client(collector) as client:
        client.import_events(rows, message_id="order", progress=False)
    (event,) = sent(collector)
    assert event["messageId"] == str(uuid.uuid5(KEY_NAMESPACE, "ORD-1"))
    assert event["properties"] == {"order": "ORD-1"}


def test_without_a_key_identical_rows_are_duplicates_and_different_rows_are_not(collector: Collector) -> None:
    row = {"event": "e", "timestamp": "2024-03-01", "user_id": "u", "a": 1, "b": 2}
    reordered = {"b": 2, "a": 1, "user_id": "u", "timestamp": "2024-03-01", "event": "e"}
    other = {**row, "a": 3}
    with segment_client(collector) as client:
        report = client.import_events([row, reordered, other], progress=False)
    assert (report.queued, report.duplicates) == (2, 1)


def test_a_missing_key_rejects_the_row(collector: Collector) -> None:
    rows = [{"event": "e", "timestamp": 1, "user_id": "u"}]
    with segment_client(collector) as client:
        report = client.import_events(rows, message_id="order_id", progress=False)
    assert [f.code for f in report.failed_rows] == ["message.message_id.required"]


# --- queue, delivery failures, Ctrl-C --------------------------------------------------------


def test_a_full_queue_slows_the_import_down_instead_of_dropping(collector: Collector) -> None:
    collector.fault(destination="segment", mode="delay", delay_ms=100)
    rows = [{"event": "e", "timestamp": i, "user_id": "u"} for i in range(1, 61)]
    with segment_client(collector, max_queue_events=5, flush_at=5) as client:
        report = client.import_events(rows, progress=False)
        assert client.stats()["dropped"] == 0
    assert (report.queued, report.dropped, report.delivered) == (60, 0, 60)


def test_failed_deliveries_are_reported_with_their_rows(collector: Collector) -> None:
    collector.fault(destination="segment", mode="status", status=401)
    rows = [{"event": "e", "timestamp": i, "user_id": "u"} for i in range(1, 4)]
    with segment_client(collector) as client:
        report = client.import_events(rows, progress=False)
    assert (report.queued, report.delivered, report.failed, report.pending) == (3, 0, 3, 0)
    assert not report.complete
    failures = [f for f in report.failed_rows if f.stage == "delivery"]
    assert sorted(f.row for f in failures) == [0, 1, 2]  # type: ignore[type-var]
    assert {(f.destination, f.status) for f in failures} == {("segment", 401)}


def test_ctrl_c_while_the_queue_is_full_stops_and_reports(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_import, "INTERRUPT_FLUSH_TIMEOUT", 0.3)
    collector.fault(destination="segment", mode="status", status=503)

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(1, 10_000):
            if i == 8:  # the queue (5 events) is full by now and the collector keeps failing
                threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
            yield {"event": "e", "timestamp": i, "user_id": "u"}

    handler = signal.getsignal(signal.SIGINT)
    with segment_client(collector, max_queue_events=5) as client:
        report = client.import_events(rows(), progress=False)
        assert client.stats()["dropped"] == 1  # the row that was waiting when Ctrl-C came
    assert signal.getsignal(signal.SIGINT) is handler
    assert report.interrupted and not report.complete
    # Reading stopped with the batch in hand: 5 rows queued, the one waiting for room and the
    # rest of its batch not.
    assert report.rows_read == _import.BATCH_ROWS
    assert report.rows_read == report.queued + report.rejected + report.duplicates + report.dropped
    assert (report.queued, report.dropped, report.delivered) == (5, report.rows_read - 5, 0)
    assert report.pending == 5
    stages = {f.stage for f in report.failed_rows}
    assert stages == {"interrupted"}
    assert "interrupted" in repr(report)
    quiesce(collector)


def test_keyboard_interrupt_while_reading_flushes_what_was_queued(collector: Collector) -> None:
    def rows() -> Iterator[dict[str, Any]]:
        for i in range(1, 1_500):
            if i == 1_200:
                raise KeyboardInterrupt
            yield {"event": "e", "timestamp": i, "user_id": "u"}

    with segment_client(collector) as client:
        report = client.import_events(rows(), progress=False)
    assert report.interrupted
    assert (report.rows_read, report.queued, report.delivered, report.pending) == (1_199, 1_199, 1_199, 0)
    assert collector.stats("segment")["events"] == 1_199


# --- progress and report ---------------------------------------------------------------------


def test_progress_uses_tqdm_when_installed(collector: Collector, capsys: pytest.CaptureFixture[str]) -> None:
    with segment_client(collector) as client:
        client.import_events(ROWS, progress=True)
    err = capsys.readouterr().err
    assert "import rows" in err and "3/3" in err


def test_progress_falls_back_to_a_plain_line_without_tqdm(
    collector: Collector, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with segment_client(collector) as client:
        client.import_events(ROWS, progress=True)
    err = capsys.readouterr().err
    assert "\rimport: 3/3 rows read, 3 queued, 0 not queued" in err


def test_progress_false_prints_nothing(collector: Collector, capsys: pytest.CaptureFixture[str]) -> None:
    with segment_client(collector) as client:
        client.import_events(ROWS, progress=False)
    assert capsys.readouterr().err == ""


def test_the_report_reads_well_in_a_terminal_and_in_jupyter(collector: Collector) -> None:
    rows = [*ROWS, {"event": "<b>", "timestamp": "later & later", "user_id": "u"}]
    with segment_client(collector) as client:
        report = client.import_events(rows, progress=False)
    text = repr(report)
    assert text.startswith("ImportReport(list (4 rows), incomplete: rows read=4, queued=3, delivered=3, rejected=1")
    assert 'row 3: rejected [message] message.timestamp.invalid: "later & later"' in text
    html = report._repr_html_()
    assert "<table>" in html and "message.timestamp.invalid" in html
    assert "later &amp; later" in html and "<b>" not in html


def test_failed_rows_are_available_as_a_dataframe(collector: Collector) -> None:
    rows = [{"event": "", "timestamp": 1, "user_id": "u", "plan": "pro"}]
    with segment_client(collector) as client:
        report = client.import_events(rows, progress=False)
        empty = client.import_events([], progress=False).failed_rows_df()
    frame = report.failed_rows_df()
    assert list(frame["code"]) == ["message.event.required"]
    assert list(frame["row"]) == [0] and list(frame["value.plan"]) == ["pro"]
    assert len(empty) == 0 and "code" in empty.columns
    assert report.to_dict()["failed_rows"][0]["code"] == "message.event.required"

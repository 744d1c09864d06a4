"""``Client.import_events``: historical events from a DataFrame, a CSV or JSON Lines file or an
iterable of dicts, for notebooks and back-fills.

The Python side runs the import here (the read → queue loop, the final flush, the report's
counts) with what is Python's own around it: reading sources (``_import_sources.py``), checking
the mapping and computing the fields given as callables (``_import_mapping.py``), the progress
bar (``_import_progress.py``), Ctrl-C (``_import_signals.py``) and the report's display
(``_import_report.py``). The rest is the core's (``core/src/import/``), reached through
``_native.ImportJob`` and ``Client._import_rows``: mapping columns by name, timestamp parsing,
deterministic message ids (UUID v5 of a key column, or of the row's content, so a re-run sends
nothing twice), and a queue that makes the import slow down instead of dropping. The import
never holds more than one batch of rows.

Ctrl-C stops reading at once (even while the import waits for room in the queue), flushes what
was queued for at most :data:`INTERRUPT_FLUSH_TIMEOUT` seconds and returns the report, marked
``interrupted``. A second Ctrl-C abandons that flush too.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Sequence, Union

from . import _native
from ._import_mapping import ANONYMOUS_ID_COLUMN, USER_ID_COLUMN, Field, RowMapper, _Default
from ._import_progress import _Progress
from ._import_report import MAX_FAILED_ROWS, FailedRow, ImportReport
from ._import_signals import _sigint_as_stop, _Stop
from ._import_sources import Batch, Problem, Row, Source, SourceLike, open_source

if TYPE_CHECKING:
    from ._client import Client

logger = logging.getLogger("tracklane")

#: Rows handed to the core per call: large enough to amortise the call, small enough that
#: Ctrl-C and the progress bar stay responsive.
BATCH_ROWS = 1_000
#: After Ctrl-C, how long the import still waits for what it queued to be delivered (s).
INTERRUPT_FLUSH_TIMEOUT = 5.0
#: How often the final flush wakes to let Ctrl-C through and update the bar (s).
FLUSH_SLICE = 0.5

_REJECTED_LOG = re.compile(r"event \S+ rejected: ")


class _QuietRejections(logging.Filter):
    """Leaves the core's per-event rejection warnings out of the log during an import (a file of
    bad rows would print one line each): the report lists them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.WARNING and _REJECTED_LOG.match(record.getMessage()))


@contextmanager
def _quiet_rejections() -> Iterator[None]:
    quiet = _QuietRejections()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


class _Run:
    """The state of one import: counters, the failed rows, and the delivery failures the client's
    error hook reported while it ran."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.delivery_failures: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def fail(
        self, row: Optional[int], line: Optional[int], stage: str, code: str, message: str, **kw: Any
    ) -> FailedRow:
        entry = FailedRow(row, stage, code, message, line=line, **kw)
        if len(self.report.failed_rows) < MAX_FAILED_ROWS:
            self.report.failed_rows.append(entry)
        else:
            self.report.not_listed += 1
        return entry

    def on_error(self, failures: list[dict[str, Any]]) -> None:
        """The client's error hook during the import (runs on the hook thread)."""
        with self.lock:
            self.delivery_failures.extend(failures[: max(0, MAX_FAILED_ROWS - len(self.delivery_failures))])


def import_events(
    client: Client,
    source: SourceLike,
    *,
    event: Field = "event",
    timestamp: Field = "timestamp",
    user_id: Union[Field, _Default] = USER_ID_COLUMN,
    anonymous_id: Union[Field, _Default] = ANONYMOUS_ID_COLUMN,
    properties: Union[Sequence[str], Callable[[Row], Any], None] = None,
    exclude: Sequence[str] = (),
    context: Union[Mapping[str, Any], Callable[[Row], Any], None] = None,
    message_id: Field = None,
    epoch_unit: str = "auto",
    format: Optional[str] = None,
    progress: bool = True,
    errors: str = "collect",
    flush_timeout: float = 60.0,
    block_timeout: Optional[float] = None,
) -> ImportReport:
    if errors not in ("collect", "raise"):
        raise ValueError("errors must be 'collect' or 'raise'")
    src = open_source(source, format)
    try:
        mapper = RowMapper(
            src,
            event=event,
            timestamp=timestamp,
            user_id=user_id,
            anonymous_id=anonymous_id,
            message_id=message_id,
            properties=properties,
            exclude=exclude,
            context=context,
            epoch_unit=epoch_unit,
        )
        report = ImportReport(source=src.description)
        if mapper.has_timestamp and client.destinations_without_timestamp:
            names = ", ".join(client.destinations_without_timestamp)
            text = (
                f"{names} keep no timestamp of their own: they will record these events at the time of "
                "the import, not when they happened"
            )
            report.warnings.append(text)
            warnings.warn(f"tracklane: {text}", UserWarning, stacklevel=3)
        return _run(client, src, mapper, report, progress, errors, flush_timeout, block_timeout)
    finally:
        src.close()


def _run(
    client: Client,
    src: Source,
    mapper: RowMapper,
    report: ImportReport,
    progress: bool,
    errors: str,
    flush_timeout: float,
    block_timeout: Optional[float],
) -> ImportReport:
    run = _Run(report)
    stop = _Stop()
    started = time.monotonic()
    before = _destination_counts(client)
    first_error: Optional[FailedRow] = None
    bar = _Progress(progress, src.total, src.label)
    client._error_listeners.append(run.on_error)
    try:
        with _sigint_as_stop(stop), _quiet_rejections():
            try:
                first_error = _read_and_queue(client, src, mapper, run, stop, bar, errors, block_timeout)
            except KeyboardInterrupt:
                report.interrupted = True
            report.interrupted = report.interrupted or stop.requested
            deadline = INTERRUPT_FLUSH_TIMEOUT if report.interrupted or first_error else flush_timeout
            bar.note(f"delivering (up to {deadline:g} s)")
            _flush(client, deadline, report, stop)
    except BaseException:
        bar.close("stopped")
        raise
    finally:
        client._error_listeners.remove(run.on_error)
    _settle(client, run, mapper.job, before)
    bar.close(f"{report.delivered:,} delivered, {report.failed:,} failed, {report.pending:,} pending")
    report.elapsed = time.monotonic() - started
    if report.interrupted:
        logger.warning("tracklane: import interrupted after %s rows: %r", report.rows_read, report)
    elif not report.complete:
        logger.info("tracklane: import of %s incomplete: %r", report.source, report)
    if first_error is not None:
        from .errors import ValidationError

        error = ValidationError(
            f"row {first_error.row}: {first_error.message}",
            code=first_error.code,
            destination=first_error.destination,
            field=first_error.field,
        )
        error.row = first_error.row  # type: ignore[attr-defined]
        error.report = report  # type: ignore[attr-defined]
        raise error
    return report


def _read_and_queue(
    client: Client,
    src: Source,
    mapper: RowMapper,
    run: _Run,
    stop: _Stop,
    bar: _Progress,
    errors: str,
    block_timeout: Optional[float],
) -> Optional[FailedRow]:
    """Reads and queues batch by batch until the source ends, Ctrl-C, or (with
    ``errors="raise"``) the first rejected row, which it returns. No Python code runs per row
    here unless a row is broken or a field is computed: the core maps and converts rows."""
    report = run.report
    # Stopping at the first rejected row means queueing nothing after it: one row per call.
    batch_rows = 1 if errors == "raise" else BATCH_ROWS
    try:
        for batch in src.batches(batch_rows):
            start = report.rows_read
            report.rows_read += len(batch.rows)
            offered, positions = batch.rows, None
            if batch.problems or mapper.computed:
                offered, positions = [], []
                for i, row in enumerate(batch.rows):
                    prepared = _prepare(mapper, row, batch.problems.get(i))
                    if prepared.__class__ is _Broken:
                        report.rejected += 1
                        values = None if i in batch.problems else mapper.values(row)
                        line = batch.lines[i] if batch.lines is not None else None
                        entry = run.fail(start + i, line, "rejected", prepared.code, prepared.message, values=values)
                        if errors == "raise":
                            return entry
                        continue
                    offered.append(prepared)
                    positions.append(i)
            first = None
            if offered:
                handled, problems, interrupted = client._import_rows(
                    offered,
                    mapper.job,
                    first_row=start,
                    numbers=None if positions is None else [start + i for i in positions],
                    columns=mapper.columns,
                    block_timeout=block_timeout,
                    should_stop=stop,
                )
                first = _account(run, mapper, batch, start, positions, handled, problems)
                stop.requested = stop.requested or interrupted
            bar.update(report.rows_read, report.queued, report.rejected + report.dropped)
            if first is not None and errors == "raise":
                return first
            if stop.requested or src.interrupted:
                stop.requested = True
                break
    except KeyboardInterrupt:  # a mapping callable, or a second Ctrl-C while reading
        stop.requested = True
    bar.update(report.rows_read, report.queued, report.rejected + report.dropped, force=True)
    return None


class _Broken:
    """A row that cannot be offered to the core: unreadable, or a mapping callable raised."""

    __slots__ = ("code", "message")

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message


def _prepare(mapper: RowMapper, row: Any, problem: Problem) -> Any:
    """The row with its computed columns, or a :class:`_Broken` when it cannot be offered."""
    if problem is not None:
        return _Broken(*problem)
    try:
        return mapper.prepare(row)
    except Exception as e:  # a mapping callable failed on this row: the row's problem, not the import's
        return _Broken("import.mapping_failed", f"{type(e).__name__}: {e}")


def _account(
    run: _Run,
    mapper: RowMapper,
    batch: Batch,
    start: int,
    positions: Optional[list[int]],
    handled: int,
    problems: list[tuple[int, str, str, list[tuple[str, str, str, str]]]],
) -> Optional[FailedRow]:
    """Counts the outcomes of the rows of ``batch`` offered to the core (``positions[i]`` is
    offered row ``i``'s index in the batch; ``None``: all of them, in order). Returns the first
    rejected row's entry, if any."""
    report = run.report
    offered = len(positions) if positions is not None else len(batch.rows)

    def where(index: int) -> tuple[int, Optional[int], Any]:
        i = positions[index] if positions is not None else index
        return start + i, (batch.lines[i] if batch.lines is not None else None), batch.rows[i]

    # Rows after an interruption were read but never offered to the queue.
    for index in range(handled, offered):
        number, line, _ = where(index)
        report.dropped += 1
        run.fail(number, line, "interrupted", "import.interrupted", "read but not queued: the import was interrupted")
    not_queued = 0
    first: Optional[FailedRow] = None
    for index, status, message_id_or_empty, errs in problems:
        number, line, row = where(index)
        message_id = message_id_or_empty or None
        if status != "queued":
            not_queued += 1
        if status == "duplicate":
            report.duplicates += 1
        elif status in ("dropped", "interrupted"):
            report.dropped += 1
            reason = _NOT_QUEUED[status]
            run.fail(number, line, status, f"import.{status}", f"not queued: {reason}", message_id=message_id)
        elif status == "skipped":
            report.rejected += 1
            run.fail(number, line, "rejected", "import.skipped", _NOT_QUEUED[status], values=mapper.values(row))
        # A row one destination rejected while others queued it is listed with that destination.
        for code, destination, field, message in errs:
            entry = run.fail(
                number,
                line,
                "rejected",
                code,
                message,
                destination=destination,
                field=field,
                message_id=message_id,
                values=mapper.values(row),
            )
            if status == "rejected" and first is None:
                first = entry
        if status == "rejected":
            report.rejected += 1
    report.queued += handled - not_queued
    return first


_NOT_QUEUED = {
    "interrupted": "Ctrl-C while it waited for room in the queue",
    "dropped": "no room in the queue within block_timeout",
    "skipped": "no destination of this client takes track calls",
}


def _flush(client: Client, deadline: float, report: ImportReport, stop: _Stop) -> None:
    """Flushes in short slices until nothing is pending or ``deadline`` passes. Ctrl-C cuts the
    deadline to :data:`INTERRUPT_FLUSH_TIMEOUT`; a second one ends the flush at once."""
    end = time.monotonic() + deadline
    try:
        while True:
            if stop.requested and not report.interrupted:
                report.interrupted = True
                end = min(end, time.monotonic() + INTERRUPT_FLUSH_TIMEOUT)
            left = end - time.monotonic()
            result = client.flush(max(0.0, min(FLUSH_SLICE, left)))
            if not result["pending"] or left <= FLUSH_SLICE:
                return
    except KeyboardInterrupt:
        report.interrupted = True


def _destination_counts(client: Client) -> dict[str, dict[str, int]]:
    return {
        d["name"]: {k: int(d[k]) for k in ("queued", "delivered", "failed")} for d in client.stats()["destinations"]
    }


def _settle(client: Client, run: _Run, job: _native.ImportJob, before: dict[str, dict[str, int]]) -> None:
    """Delivery counts from the client's counters, and the failures its error hook reported."""
    report = run.report
    after = _destination_counts(client)
    for name, now in after.items():
        was = before.get(name, {"queued": 0, "delivered": 0, "failed": 0})
        counts = {k: now[k] - was[k] for k in ("queued", "delivered", "failed")}
        counts["pending"] = max(0, counts["queued"] - counts["delivered"] - counts["failed"])
        report.destinations[name] = counts
        report.delivered += counts["delivered"]
        report.failed += counts["failed"]
        report.pending += counts["pending"]
    with run.lock:
        failures = list(run.delivery_failures)
    for f in failures:
        message_id = f.get("message_id")
        run.fail(
            job.row_of(message_id) if message_id else None,
            None,
            "delivery",
            "delivery.failed",
            str(f.get("reason", "")),
            destination=str(f.get("destination", "")),
            message_id=message_id,
            status=f.get("status"),
        )

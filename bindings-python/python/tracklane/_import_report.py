"""What ``Client.import_events`` returns: counts, the rows that failed and why, and how it
renders in a terminal (``repr``) and in Jupyter (``_repr_html_``).

Counts are exact however large the import; the rows listed individually stop at
:data:`MAX_FAILED_ROWS` so a file of a million bad rows cannot exhaust memory.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

#: Failed rows listed individually in one report; the counts stay exact beyond it.
MAX_FAILED_ROWS = 10_000


@dataclass(frozen=True)
class FailedRow:
    """One row that was not delivered, and why.

    ``row`` is the row's 0-based position in the source (``df.iloc[row]``, ``rows[row]``);
    ``line`` its first line in a CSV or JSON Lines file. ``stage`` says where it stopped:
    ``"rejected"`` (a rule or a mapping error: nothing was sent), ``"dropped"`` (no room in the
    queue within ``block_timeout``), ``"interrupted"`` (Ctrl-C while it waited for room) or
    ``"delivery"`` (the collector refused it or retries ran out). ``values`` is the row as read,
    for rejected rows.
    """

    row: Optional[int]
    stage: str
    code: str
    message: str
    line: Optional[int] = None
    destination: str = ""
    field: str = ""
    message_id: Optional[str] = None
    status: Optional[int] = None
    values: Optional[dict[str, Any]] = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ImportReport:
    """The outcome of one ``import_events`` call.

    Row counts: ``rows_read == queued + rejected + duplicates + dropped``. Delivery counts
    (``delivered``, ``failed``, ``pending``) are per event copy, one per destination, as measured
    on the client during the import (other events tracked on the same client meanwhile count
    too). ``pending`` events were still being delivered when the import returned; they go on in
    the background.
    """

    source: str
    rows_read: int = 0
    queued: int = 0
    rejected: int = 0
    duplicates: int = 0
    dropped: int = 0
    delivered: int = 0
    failed: int = 0
    pending: int = 0
    elapsed: float = 0.0
    interrupted: bool = False
    destinations: dict[str, dict[str, int]] = field(default_factory=dict)
    failed_rows: list[FailedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Failures counted but not listed in ``failed_rows`` (past :data:`MAX_FAILED_ROWS`).
    not_listed: int = 0

    @property
    def complete(self) -> bool:
        """Every row read was delivered everywhere (duplicates, already sent before, count as done)."""
        return not (self.interrupted or self.rejected or self.dropped or self.failed or self.pending)

    def failed_rows_df(self) -> Any:
        """The failed rows as a pandas DataFrame (one column per :class:`FailedRow` field, and
        ``values`` spread into ``value.<column>`` columns). Needs pandas."""
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - pandas is installed in the test venv
            raise ImportError("failed_rows_df() needs pandas; report.failed_rows is the same as a list") from e
        records = []
        for failed in self.failed_rows:
            record = failed.to_dict()
            values = record.pop("values") or {}
            record.update({f"value.{k}": v for k, v in values.items()})
            records.append(record)
        columns = [f for f in FailedRow.__dataclass_fields__ if f != "values"]
        return pd.DataFrame.from_records(records, columns=columns if not records else None)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["complete"] = self.complete
        return out

    def _summary(self) -> list[tuple[str, str]]:
        rows = [
            ("rows read", f"{self.rows_read:,}"),
            ("queued", f"{self.queued:,}"),
            ("delivered", f"{self.delivered:,}"),
            ("rejected", f"{self.rejected:,}"),
            ("duplicates", f"{self.duplicates:,}"),
            ("dropped", f"{self.dropped:,}"),
            ("failed deliveries", f"{self.failed:,}"),
            ("pending", f"{self.pending:,}"),
            ("elapsed", f"{self.elapsed:.2f} s"),
        ]
        if self.interrupted:
            rows.append(("interrupted", "yes (Ctrl-C): rows after the last one read were not imported"))
        return rows

    def __repr__(self) -> str:
        state = "interrupted" if self.interrupted else ("complete" if self.complete else "incomplete")
        counts = ", ".join(f"{k}={v}" for k, v in self._summary() if k not in ("interrupted",))
        lines = [f"ImportReport({self.source}, {state}: {counts})"]
        for warning in self.warnings:
            lines.append(f"  warning: {warning}")
        shown = self.failed_rows[:10]
        for failed in shown:
            where = f"row {failed.row}" if failed.row is not None else "row ?"
            if failed.line is not None:
                where += f" (line {failed.line})"
            dest = f" [{failed.destination}]" if failed.destination else ""
            lines.append(f"  {where}: {failed.stage}{dest} {failed.code}: {failed.message}")
        more = len(self.failed_rows) - len(shown) + self.not_listed
        if more > 0:
            lines.append(f"  ... and {more:,} more (report.failed_rows, report.failed_rows_df())")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        state = "interrupted" if self.interrupted else ("complete" if self.complete else "incomplete")
        colour = "#1a7f37" if self.complete else "#9a6700"
        cells = "".join(
            f"<tr><th style='text-align:left'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self._summary()
        )
        parts = [
            "<div class='tracklane-import-report'>",
            f"<strong>tracklane import</strong> of {esc(self.source)}: "
            f"<span style='color:{colour}'>{esc(state)}</span>",
            f"<table>{cells}</table>",
        ]
        for warning in self.warnings:
            parts.append(f"<p style='color:#9a6700'>&#9888; {esc(warning)}</p>")
        if self.failed_rows:
            head = "".join(f"<th>{h}</th>" for h in ("row", "line", "stage", "destination", "code", "message"))
            body = "".join(
                "<tr>"
                + "".join(
                    f"<td>{esc('' if v is None else str(v))}</td>"
                    for v in (f.row, f.line, f.stage, f.destination, f.code, f.message)
                )
                + "</tr>"
                for f in self.failed_rows[:20]
            )
            more = len(self.failed_rows) - min(20, len(self.failed_rows)) + self.not_listed
            parts.append(f"<details open><summary>failed rows</summary><table><tr>{head}</tr>{body}</table>")
            if more > 0:
                parts.append(f"<p>... and {more:,} more: <code>report.failed_rows_df()</code></p>")
            parts.append("</details>")
        parts.append("</div>")
        return "".join(parts)

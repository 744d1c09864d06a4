"""Where ``import_events`` reads rows from: an iterable of dicts, a pandas DataFrame, or a CSV
or JSON Lines file (optionally gzip-compressed).

Every source is read as a stream, one :class:`Batch` of rows at a time (a CSV file through
``csv.reader``, a DataFrame a slice of columns at a time, an iterable item by item), so memory
stays bounded whatever the size, and no Python code runs per row of a clean CSV file or
DataFrame. A row is a dict, or for sources with ``columns`` (CSV, DataFrames) a list or tuple of
cells in column order, which the core turns into the message without a dict per row. Missing
values (``None``, NaN, NaT, ``pd.NA``, and empty cells of a CSV file) are the core's to skip.
pandas is imported only when the source is a DataFrame.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

#: Rows of a DataFrame converted at a time (``Series.tolist()`` on a slice of each column).
FRAME_SLICE = 2_000
#: Bytes read at a time when counting a file's lines for the progress bar's total.
_COUNT_CHUNK = 1 << 20

Row = dict[str, Any]
Problem = Optional[tuple[str, str]]
SourceLike = Union[str, "os.PathLike[str]", Iterable[Mapping[str, Any]], Any]

_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonlines": "jsonl",
    ".json": "jsonl",
}


@dataclass
class Batch:
    """Consecutive rows of a source: ``lines[i]`` is row ``i``'s first line in a file (``None``
    for other sources), ``problems[i]`` a ``(code, message)`` for a row that cannot be read."""

    rows: list[Any]
    lines: Optional[Sequence[int]] = None
    problems: dict[int, tuple[str, str]] = field(default_factory=dict)


class Source:
    """A stream of rows. ``columns`` is known up front for files with a header and DataFrames
    (so a mapping naming a missing column fails before anything is sent, and rows come as
    cells in that order); ``total`` when the number of rows is known or cheap to estimate (the
    progress bar's length)."""

    description: str = "rows"
    #: What the progress bar calls it.
    label: str = "rows"
    columns: Optional[list[str]] = None
    total: Optional[int] = None
    #: CSV: an empty cell is a missing value.
    empty_is_missing: bool = False
    #: The source itself raised ``KeyboardInterrupt`` (a generator, a mapping of its own): the
    #: rows before it were yielded, nothing after.
    interrupted: bool = False

    def rows(self) -> Iterator[tuple[Any, Optional[int], Problem]]:
        raise NotImplementedError

    def batches(self, size: int) -> Iterator[Batch]:
        """Batches of at most ``size`` rows, built from :meth:`rows` one row at a time."""
        rows = self.rows()
        while not self.interrupted:
            batch = Batch([], [])
            lines: list[Any] = batch.lines  # type: ignore[assignment]
            try:
                for row, line, problem in rows:
                    if problem is not None:
                        batch.problems[len(batch.rows)] = problem
                    batch.rows.append(row)
                    lines.append(line)
                    if len(batch.rows) >= size:
                        break
            except KeyboardInterrupt:
                self.interrupted = True
            if not batch.rows:
                return
            if lines[0] is None:
                batch.lines = None
            yield batch

    def close(self) -> None:
        pass


def open_source(source: SourceLike, format: Optional[str]) -> Source:
    if isinstance(source, (str, os.PathLike)):
        return _file_source(os.fspath(source), format)
    if format is not None:
        raise ValueError("format= applies to file paths only")
    if _is_dataframe(source):
        return FrameSource(source)
    if isinstance(source, (bytes, Mapping)) or not isinstance(source, Iterable):
        raise TypeError(
            "source must be an iterable of dicts, a pandas DataFrame or the path of a CSV or JSON Lines file, "
            f"not {type(source).__name__}"
        )
    return IterableSource(source)


def _is_dataframe(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "pandas" and type(obj).__name__ == "DataFrame"


def _file_source(path: str, format: Optional[str]) -> Source:
    name = path.lower()
    compressed = name.endswith(".gz")
    if compressed:
        name = name[:-3]
    if format is None:
        format = next((f for suffix, f in _FORMATS.items() if name.endswith(suffix)), None)
        if format is None:
            raise ValueError(f"cannot tell the format of {path!r} from its name: pass format='csv' or format='jsonl'")
    if format in ("csv", "tsv"):
        return CsvSource(path, compressed, "\t" if format == "tsv" else ",")
    if format == "jsonl":
        return JsonLinesSource(path, compressed)
    raise ValueError(f"format must be 'csv', 'tsv' or 'jsonl', not {format!r}")


def _open_text(path: str, compressed: bool) -> io.TextIOBase:
    # utf-8-sig: spreadsheets write a byte-order mark that would otherwise stick to the first column name.
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")  # type: ignore[return-value]
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115


def _count_lines(path: str) -> int:
    """Lines in an uncompressed file (a last line without a newline counts), in bounded memory."""
    lines, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(_COUNT_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


class CsvSource(Source):
    """A CSV (or TSV) file with a header row; every value is read as text (use a DataFrame, or
    ``properties=`` with a callable, for typed values)."""

    empty_is_missing = True

    def __init__(self, path: str, compressed: bool, delimiter: str) -> None:
        self.description = self.label = os.path.basename(path)
        self._file = _open_text(path, compressed)
        self._reader = csv.reader(self._file, delimiter=delimiter)
        try:
            header = next(self._reader)
        except StopIteration:
            header = []
        except BaseException:
            self._file.close()
            raise
        self.columns = [h.strip() for h in header]
        if not compressed:
            self.total = max(0, _count_lines(path) - self._reader.line_num)

    def batches(self, size: int) -> Iterator[Batch]:
        reader, width = self._reader, len(self.columns or [])
        while True:
            first = reader.line_num + 1
            records = list(islice(reader, size))  # parsed in C, no Python code per row
            if not records:
                return
            lines: Sequence[int] = range(first, first + len(records))
            if reader.line_num - first + 1 != len(records):
                # Blank lines or quoted line breaks: count each record's lines.
                kept, counted, line = [], [], first
                for record in records:
                    if record:  # a blank line is not a row
                        kept.append(record)
                        counted.append(line)
                    line += 1 + sum(cell.count("\n") for cell in record)
                records, lines = kept, counted
                if not records:
                    continue
            problems = {}
            if max(map(len, records)) > width:
                for i, record in enumerate(records):
                    if len(record) > width:
                        reason = f"has {len(record)} cells but the header names {width} columns"
                        problems[i] = ("import.row.extra_cells", reason)
            yield Batch(records, lines, problems)

    def close(self) -> None:
        self._file.close()


class JsonLinesSource(Source):
    """One JSON object per line; blank lines are skipped."""

    def __init__(self, path: str, compressed: bool) -> None:
        self.description = self.label = os.path.basename(path)
        self._file = _open_text(path, compressed)
        if not compressed:
            self.total = _count_lines(path)

    def rows(self) -> Iterator[tuple[Any, Optional[int], Problem]]:
        for number, text in enumerate(self._file, 1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except ValueError as e:
                yield {}, number, ("import.row.invalid_json", f"is not JSON: {e}")
                continue
            if not isinstance(value, dict):
                yield {}, number, ("import.row.not_object", f"is a JSON {type(value).__name__}, not an object")
                continue
            yield value, number, None

    def close(self) -> None:
        self._file.close()


class FrameSource(Source):
    """A pandas DataFrame, converted a column slice at a time (``Series.tolist()``: native Python
    values and pandas Timestamps, never numpy scalars)."""

    def __init__(self, frame: Any) -> None:
        self._frame = frame
        self.columns = [str(c) for c in frame.columns]
        self.total = len(frame)
        self.description = f"DataFrame ({len(frame):,} rows)"
        self.label = "DataFrame"

    def batches(self, size: int) -> Iterator[Batch]:
        frame, width = self._frame, len(self.columns or [])
        for start in range(0, len(frame), FRAME_SLICE):
            part = frame.iloc[start : start + FRAME_SLICE]
            rows = list(zip(*(part.iloc[:, i].tolist() for i in range(width)), strict=True))
            for at in range(0, len(rows), size):
                yield Batch(rows[at : at + size])


class IterableSource(Source):
    """Any iterable of mappings (a list of dicts, a generator, a database cursor of dict rows)."""

    def __init__(self, items: Iterable[Any]) -> None:
        self._items = items
        try:
            self.total = len(items)  # type: ignore[arg-type]
        except TypeError:
            self.total = None
        self.description = type(items).__name__ + (f" ({self.total:,} rows)" if self.total is not None else "")

    def rows(self) -> Iterator[tuple[Any, Optional[int], Problem]]:
        for item in self._items:
            if item.__class__ is dict or isinstance(item, dict):
                yield item, None, None
            elif isinstance(item, Mapping):
                yield dict(item), None, None
            else:
                yield {}, None, ("import.row.not_object", f"is a {type(item).__name__}, not a dict")

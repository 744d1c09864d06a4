"""The example notebook `examples/notebooks/import_csv.ipynb`, executed headless (nbclient, a real
IPython kernel from this venv) against the local collector, its outputs and what arrived checked."""

from __future__ import annotations

import csv
from typing import Any

import nbformat
import pytest
from conftest import ROOT, Collector
from nbclient import NotebookClient

NOTEBOOK = ROOT / "examples" / "notebooks" / "import_csv.ipynb"
DATA = NOTEBOOK.parent / "data" / "events.csv"


def text_of(cell: Any) -> str:
    """Everything a code cell showed: streams, plain text and HTML results."""
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            parts.extend(str(output["data"].get(kind, "")) for kind in ("text/plain", "text/html"))
        elif output["output_type"] == "error":
            parts.append("\n".join(output["traceback"]))
    return "\n".join(parts)


@pytest.fixture
def executed(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setenv("TRACKLANE_SEGMENT_WRITE_KEY", "test-segment-key")
    monkeypatch.setenv("TRACKLANE_SEGMENT_BASE_URL", f"{collector.url}/segment")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_import_notebook_runs_headless_and_delivers_the_csv(executed: list[Any], collector: Collector) -> None:
    outputs = [text_of(cell) for cell in executed]
    setup, imported, failed, summary, again, _close = outputs
    assert "tracklane.Client(destinations=['segment']" in setup
    # The report's HTML repr, and the progress bar on stderr.
    assert "<strong>tracklane import</strong> of events.csv" in imported
    assert "import events.csv" in imported and "300/300" in imported
    # The three bad rows of the file, with their rows, lines and codes.
    for row, line, code in [
        (41, 43, "message.event.required"),
        (117, 119, "message.timestamp.invalid"),
        (208, 210, "segment.user_id.required"),
    ]:
        assert code in failed and str(row) in failed and str(line) in failed
    assert summary.strip() == "300 rows read, 297 delivered, 3 rejected"
    assert again.strip() == "second run: 0 queued, 297 duplicates"

    with open(DATA, newline="") as f:
        rows = {r["event_id"]: r for r in csv.DictReader(f)}
    received = [
        event
        for request in collector.requests("segment")
        if request["accepted"]
        for event in request["body"]["batch"]
    ]
    assert len(received) == 297 and collector.stats("segment")["unique_ids"] == 297
    for event in received:
        row = rows[event["properties"]["event_id"]]
        assert event["timestamp"] == row["timestamp"].replace(" ", "T") + ".000Z"
        assert (event["event"], event["userId"]) == (row["event"], row["user_id"])

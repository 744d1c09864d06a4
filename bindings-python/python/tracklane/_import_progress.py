"""The progress bar of ``import_events``: tqdm when it is installed, a plain line otherwise."""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any, Optional


class _Progress:
    """tqdm (``tqdm.auto``: a widget in Jupyter when ipywidgets is installed) or, without it, one
    plain line rewritten in place at most every :data:`PLAIN_EVERY` seconds."""

    PLAIN_EVERY = 0.5

    def __init__(self, enabled: bool, total: Optional[int], label: str) -> None:
        self._bar: Any = None
        self._enabled = enabled
        self._last = 0.0
        self._start = time.monotonic()
        self._total = total
        if not enabled:
            return
        try:
            with warnings.catch_warnings():
                # Without ipywidgets tqdm.auto warns in Jupyter and uses its text bar: fine.
                warnings.simplefilter("ignore")
                from tqdm.auto import tqdm
        except ImportError:
            return
        self._label = f"import {label}"
        self._bar = tqdm(total=total, desc=self._label, unit=" rows", dynamic_ncols=True)

    def update(self, read: int, queued: int, not_queued: int, *, force: bool = False) -> None:
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.update(read - self._bar.n)
            self._bar.set_postfix(queued=queued, not_queued=not_queued, refresh=False)
            return
        now = time.monotonic()
        if not force and now - self._last < self.PLAIN_EVERY:
            return
        self._last = now
        rate = read / max(now - self._start, 1e-9)
        total = f"/{self._total:,}" if self._total is not None else ""
        line = f"import: {read:,}{total} rows read, {queued:,} queued, {not_queued:,} not queued, {rate:,.0f} rows/s"
        sys.stderr.write("\r" + line)
        sys.stderr.flush()

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(text)
        elif self._enabled:
            sys.stderr.write(f"\n{text}")

    def close(self, summary: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(self._label, refresh=False)
            self._bar.set_postfix_str(summary, refresh=False)
            self._bar.close()
        elif self._enabled:
            sys.stderr.write(f"\r{summary}\n")
            sys.stderr.flush()

"""The progress line of long caseload runs: rows done, share read, rows per second, on standard error."""

from __future__ import annotations

import os
import sys
import time


def wanted(progress: bool | None) -> bool:
    """`progress` when given, else on when standard error is a terminal and CI is not set."""
    if progress is None:
        return sys.stderr.isatty() and not os.environ.get("CI")
    return progress


class Progress:
    """Rows done and the share of the input read, on standard error, when `enabled`."""

    def __init__(self, enabled: bool, total: int | None):
        self.enabled = enabled
        self.total = total
        self.rows = 0
        self.started = time.monotonic()
        self.last = 0.0

    def update(self, rows: int, position: int | None = None, final: bool = False) -> None:
        self.rows += rows
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self.last < 0.2:
            return
        self.last = now
        rate = self.rows / max(now - self.started, 1e-9)
        share = ""
        if self.total and position is not None:
            share = f"{min(100.0, 100.0 * position / self.total):5.1f}%  "
        sys.stderr.write(f"\r{share}{self.rows:,} rows  {rate:,.0f} rows/s ")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()

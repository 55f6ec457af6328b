"""Progress lines for long steps (generating, judging): done/total, rate and ETA, about every 10%. No dagster."""

from __future__ import annotations

import time
from collections.abc import Callable


def duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """Counts finished items and logs a line each time another ``every`` share of ``total`` is done."""

    def __init__(
        self,
        label: str,
        total: int,
        log: Callable[[str], object] | None,
        unit: str = "items",
        every: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.log, self.unit = label, total, log, unit
        self.every = every
        self.clock = clock
        self.started = clock()
        self.done = 0
        self._next_report = every

    def line(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        share = self.done / self.total if self.total else 1.0
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = "done" if self.done >= self.total else ("unknown" if left == float("inf") else duration(left))
        per_minute = f"{rate * 60:.1f} {self.unit}/min" if rate < 1 else f"{rate:.2f} {self.unit}/s"
        return (
            f"{self.label}: {self.done}/{self.total} {self.unit} ({share:.0%}) in {duration(elapsed)}, "
            f"{per_minute}, ETA {eta}"
        )

    def advance(self, count: int = 1) -> None:
        self.done += count
        share = self.done / self.total if self.total else 1.0
        if self.log is not None and (share >= self._next_report or self.done >= self.total):
            self.log(self.line())
            while self._next_report <= share:
                self._next_report += self.every

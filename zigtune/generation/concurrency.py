"""How many LLM requests are in flight, and how long one may take: adapted to what the server shows.

``AdaptiveLimit`` is an AIMD window with priorities. It starts at the configured limit; every reply
adds ``1 / limit`` (one slot per window of replies, up to the configured limit); an overload signal
halves it (never below 1), at most once per round trip: a request that started before the last
decrease cannot cause another, so a burst of timeouts from one wave counts once. Overload signals:

- a timeout, a 429, a 5xx or a dropped connection (``overload``);
- queueing: the median seconds per completion token of the last window of replies is more than
  ``QUEUEING_FACTOR`` times the fastest seen this run. A server with one slot answers 16 requests
  one after the other, so the 16th waits 16 replies' time; a continuous-batching server (vLLM) slows
  a little with load, far less than that factor. Normalising by completion tokens keeps long and short
  replies comparable.

``timeout()`` sizes the per-request timeout from observed latency: never below the configured one (a
server that has answered nothing gets that long), and at least ``TIMEOUT_FACTOR`` times the slowest
recent reply, so a slow or queueing server is waited for instead of having finished work dropped.
Requests in flight are given the longer deadline as soon as a slower reply is seen.

With ``adaptive=False`` the window and the timeout stay as configured (the behaviour before).

Waiters enter lowest ``priority`` first (FIFO among equals): later rounds of a section's chain
(continuations, repairs) go ahead of first rounds. No dagster here.
"""

from __future__ import annotations

import asyncio
import heapq
import statistics
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field

#: A reply this many times slower per token than the fastest seen means requests are queueing.
QUEUEING_FACTOR = 2.5
#: A request may take this many times the slowest recent reply before it is abandoned.
TIMEOUT_FACTOR = 4.0
#: ... but never longer than this many times the configured timeout.
TIMEOUT_CEILING_FACTOR = 10.0
#: Tokens added to each reply's count, so a near-empty reply does not look infinitely slow per token.
TOKEN_OFFSET = 16
RECENT_REPLIES = 32


@dataclass
class ConcurrencyReport:
    """What the limiter did in one run, for the metadata."""

    configured: int
    adaptive: bool
    final_limit: int
    lowest_limit: int
    peak_in_flight: int
    decreases: dict[str, int]
    longest_timeout_s: float

    def as_dict(self) -> dict[str, object]:
        readable = {
            "decreases": dict(sorted(self.decreases.items())),
            "longest_timeout_s": round(self.longest_timeout_s, 1),
        }
        return asdict(self) | readable


@dataclass
class _Waiter:
    priority: int
    sequence: int
    future: asyncio.Future[None] = field(compare=False)

    def __lt__(self, other: _Waiter) -> bool:
        return (self.priority, self.sequence) < (other.priority, other.sequence)


class AdaptiveLimit:
    """An AIMD concurrency window with priorities and latency-sized timeouts (see the module docstring)."""

    def __init__(self, max_concurrency: int, timeout_s: float, *, adaptive: bool = True) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.max = max_concurrency
        self.adaptive = adaptive
        self.limit = float(max_concurrency)
        self.lowest = max_concurrency
        self.configured_timeout = timeout_s
        self.in_flight = 0
        self.peak_in_flight = 0
        self.decreases: Counter[str] = Counter()
        self.last_decrease = float("-inf")
        self.longest_timeout = timeout_s
        self._waiters: list[_Waiter] = []
        self._sequence = 0
        self._latencies: deque[float] = deque(maxlen=RECENT_REPLIES)
        self._per_token: deque[float] = deque(maxlen=RECENT_REPLIES)
        self._fastest_per_token = float("inf")
        self._deadlines: dict[int, tuple[float, asyncio.Timeout]] = {}

    # --- admission -------------------------------------------------------------------------------

    @property
    def slots(self) -> int:
        return max(1, int(self.limit))

    async def acquire(self, priority: int = 0) -> None:
        if self.in_flight < self.slots and not self._waiters:
            self._enter()
            return
        self._sequence += 1
        waiter = _Waiter(priority, self._sequence, asyncio.get_running_loop().create_future())
        heapq.heappush(self._waiters, waiter)
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                self.release()  # the slot was handed over just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _enter(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.slots:
            waiter = heapq.heappop(self._waiters)
            if not waiter.future.done():
                self._enter()
                waiter.future.set_result(None)

    # --- signals ---------------------------------------------------------------------------------

    def on_reply(self, started: float, latency_s: float, completion_tokens: int) -> None:
        """A reply arrived: record its pace, stretch deadlines if it was slow, and grow or shrink."""
        self._latencies.append(latency_s)
        per_token = latency_s / (completion_tokens + TOKEN_OFFSET)
        self._per_token.append(per_token)
        self._fastest_per_token = min(self._fastest_per_token, per_token)
        self._stretch_deadlines()
        if not self.adaptive:
            return
        window = list(self._per_token)[-max(4, self.slots) :]
        queueing = len(window) >= 4 and statistics.median(window) > QUEUEING_FACTOR * self._fastest_per_token
        if queueing and self._decrease(started, "queueing"):
            return
        if not queueing and self.limit < self.max:
            self.limit = min(float(self.max), self.limit + 1.0 / self.limit)
            self._wake()

    def on_overload(self, started: float, reason: str) -> None:
        """A timeout, 429, 5xx or dropped connection: halve the window (once per round trip)."""
        if self.adaptive:
            self._decrease(started, reason)

    def _decrease(self, started: float, reason: str) -> bool:
        if started <= self.last_decrease or self.limit <= 1:
            return False
        self.limit = max(1.0, self.limit / 2)
        self.lowest = min(self.lowest, self.slots)
        self.last_decrease = time.monotonic()
        self.decreases[reason] += 1
        return True

    # --- timeouts --------------------------------------------------------------------------------

    def timeout(self) -> float:
        """The current per-request timeout in seconds (see the module docstring); fixed when not adaptive."""
        if not self.adaptive:
            return self.configured_timeout
        slowest = max(self._latencies, default=0.0)
        sized = max(self.configured_timeout, TIMEOUT_FACTOR * slowest)
        return min(sized, TIMEOUT_CEILING_FACTOR * self.configured_timeout)

    def watch(self, key: int, started: float, deadline: asyncio.Timeout) -> None:
        """Track a request's deadline so a slower reply seen later can extend it."""
        self._deadlines[key] = (started, deadline)

    def unwatch(self, key: int) -> None:
        self._deadlines.pop(key, None)

    def _stretch_deadlines(self) -> None:
        timeout = self.timeout()
        self.longest_timeout = max(self.longest_timeout, timeout)
        loop_now, now = asyncio.get_running_loop().time(), time.monotonic()
        for started, deadline in self._deadlines.values():
            wanted = loop_now + (started + timeout - now)
            current = deadline.when()
            if current is not None and wanted > current and not deadline.expired():
                deadline.reschedule(wanted)

    def report(self) -> ConcurrencyReport:
        return ConcurrencyReport(
            configured=self.max,
            adaptive=self.adaptive,
            final_limit=self.slots,
            lowest_limit=self.lowest,
            peak_in_flight=self.peak_in_flight,
            decreases=dict(self.decreases),
            longest_timeout_s=self.longest_timeout,
        )

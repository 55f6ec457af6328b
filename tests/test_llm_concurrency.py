"""The adaptive concurrency window and the latency-sized timeout, on their own (no server)."""

from __future__ import annotations

import asyncio
import time

import pytest

from zigtune.generation.concurrency import AdaptiveLimit


def test_an_overload_halves_the_window_once_per_round_trip() -> None:
    limit = AdaptiveLimit(16, 10.0)
    started = time.monotonic()
    limit.on_overload(started, "timeout")
    assert limit.slots == 8
    # A second timeout from the same wave (started before the decrease) does not halve it again.
    limit.on_overload(started, "timeout")
    assert limit.slots == 8 and limit.decreases == {"timeout": 1}
    # One that started after the decrease does.
    limit.on_overload(time.monotonic() + 1, "429")
    assert limit.slots == 4 and limit.lowest == 4 and limit.decreases == {"timeout": 1, "429": 1}


def test_replies_at_a_steady_pace_grow_the_window_back_to_the_configured_limit() -> None:
    async def run() -> AdaptiveLimit:
        limit = AdaptiveLimit(8, 10.0)
        limit.on_overload(time.monotonic(), "5xx")
        limit.on_overload(time.monotonic() + 1, "5xx")
        assert limit.slots == 2
        for _ in range(40):
            limit.on_reply(time.monotonic() + 2, 1.0, 200)
        return limit

    limit = asyncio.run(run())
    assert limit.slots == 8 and limit.report().final_limit == 8 and limit.report().lowest_limit == 2


def test_replies_slowing_down_with_the_queue_shrink_the_window() -> None:
    async def run() -> AdaptiveLimit:
        limit = AdaptiveLimit(16, 10.0)
        for position in range(1, 9):  # one server slot: the n-th reply of a wave waits n replies' time
            limit.on_reply(time.monotonic(), float(position), 200)
        return limit

    limit = asyncio.run(run())
    assert limit.slots < 16 and limit.decreases["queueing"] >= 1


def test_a_non_adaptive_window_and_timeout_stay_as_configured() -> None:
    async def run() -> AdaptiveLimit:
        limit = AdaptiveLimit(4, 5.0, adaptive=False)
        limit.on_overload(time.monotonic(), "timeout")
        for position in range(1, 9):
            limit.on_reply(time.monotonic(), float(position * 3), 200)
        return limit

    limit = asyncio.run(run())
    assert limit.slots == 4 and limit.timeout() == 5.0


def test_the_timeout_grows_with_observed_latency_and_stretches_requests_in_flight() -> None:
    async def run() -> tuple[float, float, bool]:
        limit = AdaptiveLimit(2, 0.3)
        assert limit.timeout() == 0.3  # nothing seen yet: the configured timeout
        started = time.monotonic()

        async def slow_request() -> bool:
            try:
                async with asyncio.timeout(limit.timeout()) as deadline:
                    limit.watch(1, started, deadline)
                    await asyncio.sleep(0.6)  # twice the configured timeout
                return True
            except TimeoutError:
                return False
            finally:
                limit.unwatch(1)

        request = asyncio.create_task(slow_request())
        await asyncio.sleep(0.1)
        limit.on_reply(time.monotonic() - 0.25, 0.25, 100)  # another request took 0.25 s: allow 4x that
        return limit.timeout(), limit.report().longest_timeout_s, await request

    timeout, longest, finished = asyncio.run(run())
    assert timeout == pytest.approx(1.0) and longest == pytest.approx(1.0)
    assert finished  # its deadline moved from 0.3 s to 1.0 s while it was in flight


def test_waiters_enter_by_priority_then_in_order() -> None:
    async def run() -> list[str]:
        limit = AdaptiveLimit(1, 10.0, adaptive=False)
        order: list[str] = []
        await limit.acquire()

        async def waiter(name: str, priority: int) -> None:
            await limit.acquire(priority)
            order.append(name)
            limit.release()

        tasks = [asyncio.create_task(waiter(name, p)) for name, p in (("first", 0), ("repair", -2), ("second", 0))]
        await asyncio.sleep(0)
        limit.release()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(run()) == ["repair", "first", "second"]

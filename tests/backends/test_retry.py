"""The one backoff helper of drtui/backends: delays grow to a cap and never pass the deadline;
retry stops at its attempts, its deadline, or a failure it must not retry."""

from __future__ import annotations

import asyncio
import time

import pytest

from drtui.backends.retry import Backoff, retry


def test_delays_double_up_to_the_cap():
    wait = Backoff(0.01, 0.04)
    seen = [wait._next() for _ in range(5)]
    assert seen == [0.01, 0.02, 0.04, 0.04, 0.04]
    assert wait.tries == 5 and not wait.expired  # no limit: never expires


def test_a_constant_delay_and_a_deadline_that_cuts_the_last_sleep():
    wait = Backoff(0.2, factor=1.0, limit=0.05)
    start = time.monotonic()
    asyncio.run(wait.sleep())
    took = time.monotonic() - start
    assert 0.04 <= took < 0.15  # slept to the deadline, not the whole 0.2 s
    assert wait.expired
    assert wait.delay == 0.2  # factor 1: the same delay every time


def test_retry_returns_once_the_operation_succeeds():
    calls = []

    async def flaky():
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise OSError("not yet")
        return "up"

    between = []

    async def reconnect():
        between.append(len(calls))

    assert asyncio.run(retry(flaky, Backoff(0.01, 0.02), between=reconnect)) == "up"
    assert len(calls) == 3 and between == [1, 2]
    assert calls[2] - calls[1] >= 0.015  # the second wait was the doubled one


def test_retry_raises_the_last_failure_after_its_attempts():
    calls = []

    async def down():
        calls.append(1)
        raise OSError(f"refused {len(calls)}")

    with pytest.raises(OSError, match="refused 4"):
        asyncio.run(retry(down, Backoff(0.001), attempts=4))
    assert len(calls) == 4


def test_retry_does_not_retry_what_it_is_told_not_to():
    calls = []

    async def refused():
        calls.append(1)
        raise PermissionError("bad key")

    with pytest.raises(PermissionError):
        asyncio.run(retry(refused, Backoff(0.001),
                          retry_if=lambda exc: not isinstance(exc, PermissionError)))
    assert calls == [1]


def test_retry_gives_up_at_the_deadline():
    calls = []

    async def down():
        calls.append(1)
        raise TimeoutError("no answer")

    start = time.monotonic()
    with pytest.raises(TimeoutError):
        asyncio.run(retry(down, Backoff(0.02, limit=0.1)))
    assert time.monotonic() - start < 1.0
    assert 2 <= len(calls) <= 7

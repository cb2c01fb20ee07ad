"""Waiting between tries, in one place: a delay that starts at `first`, grows by `factor` up to
`most`, and never sleeps past a deadline. Used by every loop in drtui/backends that polls or
retries: a cloud instance coming up (rented.py), an SSH reconnect (ssh.py), DRfC's host
operations (drfc.py) and an EC2 security group still in use (aws_ec2.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class Backoff:
    """One wait: `await backoff.sleep()` between tries, `backoff.expired` once the time limit
    (seconds from now; None: no limit) has passed, `backoff.tries` counts the sleeps."""

    def __init__(self, first: float, most: float | None = None, *, factor: float = 2.0,
                 limit: float | None = None):
        self.delay, self.most, self.factor = first, first if most is None else most, factor
        self.deadline = None if limit is None else time.monotonic() + limit
        self.tries = 0

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _next(self) -> float:
        delay = self.delay
        if self.deadline is not None:
            delay = min(delay, max(0.0, self.deadline - time.monotonic()))
        self.delay = min(self.delay * self.factor, self.most)
        self.tries += 1
        return delay

    async def sleep(self) -> None:
        await asyncio.sleep(self._next())

    def sleep_sync(self) -> None:
        """For a loop in a worker thread (boto3)."""
        time.sleep(self._next())


async def retry(op: Callable[[], Awaitable[T]], backoff: Backoff, *,
                retry_if: Callable[[BaseException], bool] = lambda exc: True,
                attempts: int | None = None,
                between: Callable[[], Awaitable[None]] | None = None) -> T:
    """op(), tried again after a failure `retry_if` accepts, until it succeeds, `attempts` tries
    were made or the backoff's time limit passed (then the last failure is raised).
    `between` runs before each new try (drop a broken connection)."""
    tried = 0
    while True:
        tried += 1
        try:
            return await op()
        except Exception as exc:  # noqa: BLE001 - retry_if decides; the rest is raised
            if not retry_if(exc) or backoff.expired or (attempts is not None
                                                       and tried >= attempts):
                raise
        if between is not None:
            await between()
        await backoff.sleep()

"""Retrying database work: transient failures wait and retry; anything else is a bug."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pipeline.platform.failures import TRANSIENT

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["TRANSIENT", "retry_transient"]


async def retry_transient(
    attempt: Callable[[], Awaitable[T]],
    on_failure: Callable[[], Awaitable[None]] | None = None,
    what: str = "work",
    first_delay: float = 0.1,
    max_delay: float = 5.0,
) -> T:
    """Run ``attempt`` until it succeeds; never gives up on a transient error.

    Giving up would let the batch be acknowledged, i.e. lost.
    """
    delay = first_delay
    failures = 0
    while True:
        try:
            return await attempt()
        except TRANSIENT as exc:
            failures += 1
            if on_failure is not None:
                await on_failure()
            log.warning(
                "%s failed (%s: %s); retry %d in %.1f s",
                what,
                type(exc).__name__,
                exc,
                failures,
                delay,
            )
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, max_delay)

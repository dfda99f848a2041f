"""Background services beside the agents (relays, timers, the notifier) must never crash the app:
an app crash cancels the agents mid-batch. They survive their own errors, log them and go on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pipeline import metrics

log = logging.getLogger(__name__)
T = TypeVar("T")


async def guarded(name: str, work: Callable[[], Awaitable[T]]) -> T | None:
    """Run one round of a background service; an unexpected error is logged and counted."""
    try:
        return await work()
    except asyncio.CancelledError:
        raise
    except Exception:
        metrics.CRASH_GUARDED.labels(name).inc()
        log.exception("%s: unexpected error; it goes on", name)
        return None

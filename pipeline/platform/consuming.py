"""How every agent consumes: batches acknowledged only after their work is committed, and batches
that one message breaks split until that message stands alone.

Faust's ``take()`` and ``take_events()`` acknowledge their events in a ``finally``: an exception, a
cancellation or the app crashing beside the agent would acknowledge (and soon commit) a batch that
was never written. ``noack_take`` yields without acknowledging; ``consume`` acknowledges after the
handler returned, and only then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from models.batch import SourceMessage
from pipeline.platform.failures import Failure, classify, stop_hard

T = TypeVar("T")
R = TypeVar("R")


async def consume(
    stream: Any, size: int, within: float, handle: Callable[[Sequence[Any]], Awaitable[object]]
) -> None:
    """Hand each batch of events to ``handle``; acknowledge it once ``handle`` has returned.

    ``handle`` deals with content and transient failures itself. Anything that still escapes it is
    a bug: the process stops without acknowledging the batch. A cancellation (shutdown, rebalance,
    the app crashing) leaves the batch unacknowledged: it is redelivered.
    """
    async for events in stream.noack_take(size, within=within):
        try:
            await handle(events)
        except asyncio.CancelledError:
            raise
        except BaseException:
            stop_hard(f"handling a batch of {len(events)} from {stream}")
        for event in events:
            await stream.ack(event)


async def isolate(
    items: Sequence[T],
    attempt: Callable[[Sequence[T]], Awaitable[R]],
    poisoned: Callable[[T, BaseException], None],
) -> list[R]:
    """Run ``attempt`` on ``items``; when it fails for a content reason, split the items in halves
    and try each, in order, down to single items. A single item that still fails is ``poisoned``;
    every other item is processed. Transient failures are ``attempt``'s to retry; bugs propagate.

    One bad message in a batch of n costs about 2·log2(n) extra attempts, only when it happens.
    """
    try:
        return [await attempt(items)] if items else []
    except Exception as exc:
        if classify(exc) is not Failure.CONTENT:
            raise
        if len(items) == 1:
            poisoned(items[0], exc)
            return []
    middle = len(items) // 2
    return [
        *await isolate(items[:middle], attempt, poisoned),
        *await isolate(items[middle:], attempt, poisoned),
    ]


def source_of(item: Any) -> SourceMessage:
    """Where a consumed message (or a stream event's message) came from, and its original bytes."""
    m = getattr(item, "message", item)
    return SourceMessage(m.topic, m.partition, m.offset, m.key, m.value)

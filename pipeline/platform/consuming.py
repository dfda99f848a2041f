"""What every batch handler shares: a batch that one message breaks is split until that message
stands alone, and where a consumed message came from. (Delivery and acknowledgement: ``batches``.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from models.batch import SourceMessage
from pipeline.platform.failures import Failure, classify

T = TypeVar("T")
R = TypeVar("R")


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
    return SourceMessage(
        m.topic, m.partition, m.offset, m.key, m.value, getattr(m, "timestamp", None)
    )

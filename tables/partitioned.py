"""Writing Faust tables from the batch path, where there is no current event.

Faust's tables and its RocksDB store pick the partition of a read or a write from the event being
processed (``faust.streams.current_event``): a changelog record goes to that event's partition, and
the store keeps one database per partition. The batch path hands handlers whole batches, so no event
is current. ``on_partition`` makes one current for a block: a stand-in whose message is the
source message the writes belong to, so every table write in the block lands in the partition of
the transactions it came from, as it would from a stream.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from faust import streams


@dataclass(slots=True)
class _SourceAt:
    """What Faust reads of an event when it writes a table: its message's topic and partition."""

    topic: str
    partition: int


class _StandIn:
    __slots__ = ("__weakref__", "message")

    def __init__(self, message: _SourceAt) -> None:
        self.message = message


@contextmanager
def on_partition(topic: str, partition: int) -> Iterator[Any]:
    """Table reads and writes in the block belong to ``topic``'s ``partition``."""
    event = _StandIn(_SourceAt(topic, partition))
    token = streams._current_event.set(weakref.ref(event))  # type: ignore[arg-type]
    try:
        yield event
    finally:
        streams._current_event.reset(token)

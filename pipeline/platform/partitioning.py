"""Where a key belongs: the partition Kafka's default partitioner picks (murmur2 of the key modulo
the topic's partition count, as the Java client, librdkafka's ``murmur2_random`` and aiokafka do).

A producer with another partitioner (librdkafka's default ``consistent_random`` is CRC32) puts a
syndicate's transactions on a partition its windows do not live in; the ingestor re-routes them here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka.partitioner import murmur2

log = logging.getLogger(__name__)


def partition_for(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class KeyPartitioner:
    """``partition_for`` with the topic's live partition count, asked of the cluster now and then."""

    REFRESH_SECONDS = 60.0

    def __init__(self, partition_count: Callable[[], Awaitable[int | None]]) -> None:
        self._partition_count = partition_count
        self._count: int | None = None
        self._checked = 0.0
        self._homes: dict[bytes, int] = {}

    async def refresh(self) -> None:
        if self._count is not None and time.monotonic() - self._checked < self.REFRESH_SECONDS:
            return
        self._checked = time.monotonic()
        try:
            count = await self._partition_count()
        except Exception:  # unknown for now: keys are taken where they arrive until it is known
            log.warning("could not read the partition count; not re-routing", exc_info=True)
            return
        if count != self._count:
            self._count, self._homes = count, {}

    def __call__(self, key: bytes) -> int | None:
        """The key's partition, or None while the partition count is unknown."""
        if not self._count:
            return None
        home = self._homes.get(key)
        if home is None:
            if len(self._homes) > 100_000:
                self._homes.clear()
            home = self._homes[key] = partition_for(key, self._count)
        return home

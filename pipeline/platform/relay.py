"""The outbox pattern, once for every topic written after a database commit (``alerts``,
``pool-events``): rows are stored unpublished in the same transaction as the change, published
right after the commit, and a relay publishes whatever a crash left behind.

Consumers dedupe by id, so publishing twice is harmless; not publishing is not. A row that cannot
be turned into a message is quarantined (set aside with the reason), never retried in a loop.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from models.batch import printable
from pipeline.platform import metrics
from pipeline.platform.db import LazyConnection
from pipeline.platform.failures import Failure, classify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    ident: Any  # what ``mark`` is given once the message is on the topic
    key: bytes
    value: bytes


Conn = psycopg.AsyncConnection


@dataclass(frozen=True)
class OutboxStore:
    """Where one outbox lives: what is unpublished, how a row becomes a message, how it is marked."""

    name: str
    unpublished: Callable[[Conn, int], Awaitable[list[Any]]]
    to_outgoing: Callable[[Any], Outgoing]
    ident_of: Callable[[Any], Any]
    mark: Callable[[Conn, list[Any]], Awaitable[None]]
    quarantine: Callable[[Conn, Any, str], Awaitable[None]]


class Relay:
    def __init__(self, database_url: str, topic: Any, store: OutboxStore) -> None:
        self._topic = topic
        self._store = store
        self._connection = LazyConnection(database_url, autocommit=True)

    async def hand_over(self, items: Sequence[Outgoing]) -> Callable[[], Awaitable[None]]:
        """Right after the commit: give the messages to the producer now, in order, and return
        what finishes their publication: waiting for the broker, then marking the rows. A batch
        handler returns that as its ``settle``, so the next batch is not kept waiting for the
        broker. Best effort, never raises: the relay finishes what this does not."""
        if not items:
            return _nothing
        try:
            pending = await self._send(items)
        except Exception:
            await self._failed(len(items))
            return _nothing

        async def finish() -> None:
            try:
                await self._published(items, pending)
            except Exception:
                await self._failed(len(items))

        return finish

    async def _failed(self, count: int) -> None:
        log.warning(
            "publishing %d to %s failed; the relay will retry",
            count,
            self._store.name,
            exc_info=True,
        )
        await self._connection.discard()

    async def _publish(self, items: Sequence[Outgoing]) -> None:
        if items:
            await self._published(items, await self._send(items))

    async def _send(self, items: Sequence[Outgoing]) -> list[Awaitable[Any]]:
        return [await self._topic.send(key=i.key, value=i.value) for i in items]

    async def _published(self, items: Sequence[Outgoing], pending: list[Awaitable[Any]]) -> None:
        for fut in pending:
            await fut
        await self._store.mark(await self._connection.get(), [i.ident for i in items])

    async def relay(self, limit: int = 500) -> int:
        """Publish stored rows nobody published; returns how many. Never raises: it runs beside
        the agents, and one bad row or an outage must not stop the worker."""
        try:
            conn = await self._connection.get()
            rows = await self._store.unpublished(conn, limit)
            items = []
            for row in rows:
                try:
                    items.append(self._store.to_outgoing(row))
                except Exception as exc:
                    if classify(exc) is not Failure.CONTENT:
                        raise
                    await self._quarantine(conn, row, exc)
            await self._publish(items)
            if items:
                log.info("relayed %d unpublished to %s", len(items), self._store.name)
            return len(items)
        except Exception:
            # It runs beside the agents: crashing would cancel them mid-batch. Logged, counted, retried.
            log.warning("the %s relay failed; it will try again", self._store.name, exc_info=True)
            metrics.CRASH_GUARDED.labels(f"{self._store.name} relay").inc()
            await self._connection.discard()
            return 0

    async def _quarantine(self, conn: Conn, row: Any, exc: Exception) -> None:
        reason = printable(f"{type(exc).__name__}: {exc}")
        log.error("%s: row %r quarantined: %s", self._store.name, self._store.ident_of(row), reason)
        metrics.QUARANTINED.labels(self._store.name).inc()
        await self._store.quarantine(conn, row, reason)


async def _nothing() -> None:
    return None

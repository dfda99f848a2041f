"""The Postgres sink: one database transaction per consumed batch, idempotent by transaction_id."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import psycopg
from psycopg.rows import dict_row

import sql
from models.anomaly import Alert
from models.batch import Accepted, DeadLetter, conflict
from pipeline.alerts.detection import AnomalyDetector, AppliedAhead, Settle
from pipeline.platform import dead_letters
from pipeline.platform.db import LazyConnection
from pipeline.platform.queries import run

_COPY_STAGED = (
    "COPY staged_transactions (transaction_id, investor_id, syndicate_id, transaction_amount,"
    " transaction_date, currency, source_partition, source_offset) FROM STDIN"
)


@dataclass
class SinkResult:
    inserted: list[str] = field(default_factory=list)
    duplicates: int = 0
    dead: list[DeadLetter] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    late: int = 0
    # What must finish before the batch may be acknowledged: the changelog of the spike windows,
    # then the alerts' publication.
    settle: Settle | None = None

    def settle_also(self, more: Settle) -> None:
        """``more`` must finish too before the batch is acknowledged, after what was there."""
        first = self.settle
        if first is None:
            self.settle = more
            return

        async def both() -> None:
            await first()
            await more()

        self.settle = both

    @classmethod
    def combine(cls, parts: list[SinkResult]) -> SinkResult:
        """One result for a batch written in several transactions."""
        total = cls()
        for p in parts:
            total.inserted += p.inserted
            total.duplicates += p.duplicates
            total.dead += p.dead
            total.alerts += p.alerts
            total.late += p.late
            if p.settle is not None:
                total.settle_also(p.settle)
        return total


async def _stage(conn: psycopg.AsyncConnection) -> None:
    await conn.execute(sql.load("ingest/stage_transactions"))
    await conn.commit()


class TransactionSink:
    """Writes accepted transactions and dead letters; owns one connection."""

    def __init__(self, database_url: str, detector: AnomalyDetector | None = None) -> None:
        self._connection = LazyConnection(database_url, autocommit=False, on_open=_stage)
        self.detector = detector

    async def close(self) -> None:
        await self._connection.close()

    async def discard(self) -> None:
        """Drop the connection after a failure so the next attempt starts clean."""
        await self._connection.discard()

    async def write(
        self,
        accepted: list[Accepted],
        dead: list[DeadLetter],
        committed: Callable[[SinkResult], Awaitable[Settle | None]] | None = None,
    ) -> SinkResult:
        """``committed`` runs right after the commit, before the spike windows' table write: what
        it starts (the alerts' publication) does not wait for the table; what it returns must
        finish, after the table's changelog, before the batch is acknowledged."""
        try:
            return await self._write(accepted, dead, committed)
        except BaseException:
            if self.detector is not None:
                # The transaction rolled back; so must the windows it moved in memory.
                self.detector.invalidate(sorted({a.source.partition for a in accepted}))
            raise

    async def _write(
        self,
        accepted: list[Accepted],
        dead: list[DeadLetter],
        committed: Callable[[SinkResult], Awaitable[Settle | None]] | None,
    ) -> SinkResult:
        conn = await self._connection.get()
        result = SinkResult(dead=list(dead))
        async with conn.transaction():
            partitions = sorted({a.source.partition for a in accepted})
            if partitions:
                # Serialises a zombie and the new owner of a partition during a rebalance.
                await run(conn, "ingest/lock_partitions", partitions=partitions)
            if self.detector is not None and accepted:
                await self.detector.prepare(conn, accepted)
            here: set[str] = set()
            ahead: AppliedAhead | None = None
            if accepted:
                result.inserted, here, ahead = await self._insert_and_apply(conn, accepted, result)
            if self.detector is not None and (here or ahead is not None):
                detection = await self.detector.detect(
                    conn,
                    [a for a in accepted if a.transaction.transaction_id in here],
                    replayed=here.difference(result.inserted),
                    ahead=ahead,
                )
                result.alerts, result.late = detection.alerts, detection.late
            await dead_letters.store(conn, result.dead)
        publication = None if committed is None else await committed(result)
        if self.detector is not None:
            result.settle = await self.detector.persist()
        if publication is not None:
            result.settle_also(publication)
        return result

    async def _insert_and_apply(
        self, conn: psycopg.AsyncConnection, accepted: list[Accepted], result: SinkResult
    ) -> tuple[list[str], set[str], AppliedAhead | None]:
        """``_insert``; while PostgreSQL runs the insert statement (on its own core), the batch is
        applied ahead to the spike windows, which the detector keeps when every transaction turns
        out to be new here (the usual case). Inserting and applying took turns on the worker's
        core before: about a third of a batch's time was spent waiting for the database."""
        if self.detector is None:
            return *await self._insert(conn, accepted, result), None
        sent = asyncio.Event()
        inserting = asyncio.ensure_future(self._insert(conn, accepted, result, sent))
        waiting = asyncio.ensure_future(sent.wait())
        try:
            await asyncio.wait((inserting, waiting), return_when=asyncio.FIRST_COMPLETED)
            ahead = None if inserting.done() else self.detector.apply_ahead(accepted)
        except BaseException:
            # The connection is the insert's until it returns: never leave it mid-statement.
            await asyncio.wait((inserting,))
            raise
        finally:
            waiting.cancel()
        return *await inserting, ahead

    async def _insert(
        self,
        conn: psycopg.AsyncConnection,
        accepted: list[Accepted],
        result: SinkResult,
        sent: asyncio.Event | None = None,
    ) -> tuple[list[str], set[str]]:
        """The ids inserted now, and the ids stored from their own source position: those, plus
        any an earlier attempt at this very batch stored before it crashed. ``sent`` is set as the
        insert statement goes to the server."""
        async with conn.cursor(row_factory=dict_row) as cur:
            async with cur.copy(_COPY_STAGED) as copy:
                for a in accepted:
                    t = a.transaction
                    await copy.write_row(
                        (
                            t.transaction_id,
                            t.investor_id,
                            t.syndicate_id,
                            t.transaction_amount,
                            t.transaction_date,
                            t.currency,
                            a.source.partition,
                            a.source.offset,
                        )
                    )
            if sent is not None:
                sent.set()  # the waiter runs once this task waits for the server's answer
            await cur.execute(sql.load("ingest/insert_transactions"))
            inserted = [r["transaction_id"] for r in await cur.fetchall()]
            here = set(inserted)
            if len(inserted) < len(accepted):
                await cur.execute(sql.load("ingest/stored_here"))
                here = {r["transaction_id"] for r in await cur.fetchall()}
                await cur.execute(sql.load("ingest/conflicting_duplicates"))
                by_position = {(a.source.partition, a.source.offset): a for a in accepted}
                conflicts = [
                    by_position[(r["source_partition"], r["source_offset"])]
                    for r in await cur.fetchall()
                ]
                result.dead.extend(
                    conflict(a.source, a.transaction.transaction_id) for a in conflicts
                )
                result.duplicates = len(accepted) - len(inserted) - len(conflicts)
        return inserted, here

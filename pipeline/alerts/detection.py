"""Anomaly detection inside the sink's database transaction, on windows kept in Faust tables.

The spike windows live in table ``spike-windows`` (tables.spike_windows); this keeps the ones in use
in memory, applies each newly stored transaction to them in consumption order, and writes the
syndicates a batch moved back to the table after the database commit, before the batch is
acknowledged. The changelog therefore runs ahead of the committed offsets, never behind them, and
can also lag the database (a crash between the commit and the table write). A transaction is
applied exactly once because each syndicate's window remembers the last source offset applied to
it, and the sink says which transactions are stored from this very source position (new rows, or
rows a crashed attempt stored before its table write landed): those are applied when their offset
is past the window's, and a redelivered duplicate from another position never is.

Each source partition's version in ``partition_state`` tells whether another worker wrote the
partition since this one did (a rebalance); if so, its windows are read from the table again, which
Faust restored from the changelog when the partition came back.

The table can also miss what the database has: the changelog can be lost (the embedded broker keeps
it in memory only) or restored short of its end.
So the newest source offset applied is kept for each partition in both places (``partition_state``
and the table's partition mark); when a worker first reads a partition's windows and the database
is ahead, the rows stored from the offsets in between are applied again, in offset order, from
PostgreSQL, before the batch. Their windows' own offsets skip what the table did get.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import orjson
import psycopg

from config import Settings
from models.anomaly import (
    Alert,
    SyndicateWindow,
    large_transaction,
    to_micros,
)
from models.batch import Accepted, SourceMessage
from models.transaction import Transaction
from pipeline.alerts.rules import RulesCache
from pipeline.platform import metrics
from pipeline.platform.queries import rows, run, run_many
from tables.spike_windows import Kept, Record, Settle, SpikeWindows

log = logging.getLogger(__name__)
TOPIC = "transactions"


@dataclass
class Detection:
    alerts: list[Alert] = field(default_factory=list)
    late: int = 0


@dataclass
class _Applied:
    """A batch applied to the windows: the alerts it raised, the ids of its late transactions (not
    counted), and the partitions it moved."""

    alerts: list[Alert] = field(default_factory=list)
    late_ids: list[str] = field(default_factory=list)
    partitions: list[int] = field(default_factory=list)


@dataclass
class _Before:
    """A partition's windows before a batch was applied ahead: its mark, the syndicates already
    moved by this batch's ``prepare``, and copies of the syndicates the batch touches."""

    mark: int
    moved: list[str]
    syndicates: dict[str, Kept]


@dataclass
class AppliedAhead:
    """A batch applied before the database said which of its transactions are stored here."""

    count: int
    applied: _Applied
    before: dict[int, _Before]


@dataclass
class _Cached:
    syndicates: dict[str, Kept]
    version: int
    # The newest source offset applied to the partition's windows (-1: none), as its mark says.
    mark: int = -1
    # The windows' generation (partition_state.windows_generation): the table's records of
    # another are dead, as after ``pulse rebuild --what windows``.
    generation: int = 0


class AnomalyDetector:
    def __init__(self, settings: Settings, windows: SpikeWindows) -> None:
        self.rules = RulesCache(settings)
        self.windows = windows
        self.rule = windows.rule
        self._partitions: dict[int, _Cached] = {}
        # Windows moved by the current batch, written to the table (with their partitions' marks)
        # by ``persist``; their table records, where ``apply_ahead`` built them already.
        self._moved: dict[int, dict[str, Kept]] = {}
        self._built: dict[int, list[Record]] | None = None

    def invalidate(self, partitions: Sequence[int] | None = None) -> None:
        """Forget in-memory state (after a failed attempt): it is read from the table again."""
        for p in list(self._partitions) if partitions is None else partitions:
            self._partitions.pop(p, None)
            self._moved.pop(p, None)
            if self._built is not None:
                self._built.pop(p, None)

    async def prepare(self, conn: psycopg.AsyncConnection, accepted: Sequence[Accepted]) -> None:
        """Bring the windows of the batch's syndicates up to date, before its rows are inserted."""
        await self.rules.refresh(conn)
        by_partition: dict[int, set[str]] = {}
        for a in accepted:
            by_partition.setdefault(a.source.partition, set()).add(a.transaction.syndicate_id)
        if not by_partition:
            return
        stored = await rows(
            conn, "alerts/partition_versions", topic=TOPIC, partitions=sorted(by_partition)
        )
        known = {r["partition"]: r for r in stored}
        for p, syndicates in sorted(by_partition.items()):
            state = known.get(p, {"version": 0, "applied_offset": None, "windows_generation": 0})
            cached = self._partitions.get(p)
            if cached is None or cached.version != state["version"]:
                # First sight of this partition, or someone else wrote it (or rebuilt it) since.
                cached = self._partitions[p] = _Cached(
                    {}, state["version"], generation=state["windows_generation"]
                )
                log.info("spike windows of partition %d read afresh", p)
                await self._catch_up(conn, p, state["applied_offset"])
            self._load(p, syndicates)

    def _load(self, partition: int, syndicate_ids: Collection[str]) -> None:
        cached = self._partitions[partition]
        syndicates, generation = cached.syndicates, cached.generation
        for s in set(syndicate_ids) - syndicates.keys():
            kept = self.windows.load(partition, s, generation)
            syndicates[s] = (
                kept if kept is not None else Kept(s, SyndicateWindow(), generation=generation)
            )

    async def _catch_up(
        self, conn: psycopg.AsyncConnection, partition: int, stored_upto: int | None
    ) -> None:
        """Apply again, from PostgreSQL, what the database has of ``partition`` and the table
        does not: the rows stored from the source offsets after the table's mark."""
        cached = self._partitions[partition]
        marked = self.windows.mark(partition, cached.generation)
        cached.mark = -1 if marked is None else marked
        if stored_upto is None or cached.mark >= stored_upto:
            return
        behind = cached.mark
        found = await rows(
            conn,
            "alerts/stored_since",
            partition=partition,
            after=behind,
            upto=stored_upto,
        )
        log.warning(
            "spike windows of partition %d: the table has offsets up to %d, the database up to"
            " %d; applying the %d rows in between from the database",
            partition,
            behind,
            stored_upto,
            len(found),
        )
        again = [
            Accepted(
                Transaction(
                    r["transaction_id"],
                    r["investor_id"],
                    r["syndicate_id"],
                    r["transaction_amount"],
                    r["transaction_date"],
                    r["currency"],
                ),
                SourceMessage(TOPIC, partition, r["source_offset"], None, None),
            )
            for r in found
        ]
        self._load(partition, {a.transaction.syndicate_id for a in again})
        alerts, _ = self._apply(partition, again)
        if marked is None and cached.generation > 0:
            # Rebuilt (pulse rebuild --what windows): the whole history applied again, under
            # today's rules. Its alerts were decided when it happened; none is raised anew.
            alerts = []
        # Stored with their rows, in the transaction that stored those; any missing is stored now.
        await self._insert_alerts(
            conn, await self._not_stored(conn, alerts, {a.transaction_id for a in alerts})
        )
        metrics.WINDOW_CATCH_UPS.inc(len(again))
        cached.mark = stored_upto

    def apply_ahead(self, accepted: Sequence[Accepted]) -> AppliedAhead:
        """Apply the whole batch now, as if every transaction in it were stored from its own source
        position (the usual case), while the database is still inserting it; ``detect`` keeps the
        result if so, and otherwise puts the windows back as they were and applies what it must.

        The batch must have been ``prepare``d."""
        before: dict[int, _Before] = {}
        for a in accepted:
            p = a.source.partition
            if p not in before:
                cached = self._partitions[p]
                moved = self._moved.get(p, {})
                # Moved by a catch-up in ``prepare``: building their records changes them too.
                before[p] = _Before(
                    cached.mark, list(moved), {s: k.copy() for s, k in moved.items()}
                )
            kept_before = before[p].syndicates
            s = a.transaction.syndicate_id
            if s not in kept_before:
                kept_before[s] = self._partitions[p].syndicates[s].copy()
        applied = self._apply_all(accepted)
        # The table's records too: only the store and the changelog wait for the commit.
        self._built = self._table_records()
        return AppliedAhead(len(accepted), applied, before)

    async def detect(
        self,
        conn: psycopg.AsyncConnection,
        stored: Sequence[Accepted],
        replayed: Collection[str] = (),
        ahead: AppliedAhead | None = None,
    ) -> Detection:
        """Apply the transactions stored from their own source position, in consumption order;
        write alerts and the partitions' versions and newest offsets. ``replayed`` names those
        stored by an earlier attempt (their alerts may stand already). ``ahead``: the batch as
        ``apply_ahead`` applied it; it stands if every transaction of the batch is in ``stored``.

        The batch must have been ``prepare``d in the same database transaction.
        """
        if ahead is not None and ahead.count == len(stored):
            applied = ahead.applied  # ``stored`` is the whole batch, in the same order
        else:
            if ahead is not None:
                self._put_back(ahead)
                metrics.WINDOWS_APPLIED_AGAIN.inc()
            applied = self._apply_all(stored)
        result = Detection(alerts=applied.alerts, late=len(applied.late_ids))
        if not applied.partitions:
            return result
        metrics.LATE_EVENTS.inc(result.late)
        if applied.late_ids:
            await run(conn, "alerts/mark_late", transaction_ids=applied.late_ids)
        partitions = applied.partitions
        bumped = await rows(
            conn,
            "alerts/bump_partition_versions",
            topic=TOPIC,
            partitions=partitions,
            offsets=[self._partitions[p].mark for p in partitions],
        )
        for r in bumped:
            self._partitions[r["partition"]].version = r["version"]
        if replayed and result.alerts:
            result.alerts = await self._not_stored(conn, result.alerts, replayed)
        if result.alerts:
            await self._insert_alerts(conn, result.alerts)
        return result

    def _apply_all(self, stored: Sequence[Accepted]) -> _Applied:
        """The rules over the transactions, partition by partition; each partition's newest offset
        applied moves on."""
        by_partition: dict[int, list[Accepted]] = {}
        for a in stored:
            by_partition.setdefault(a.source.partition, []).append(a)
        applied = _Applied(partitions=sorted(by_partition))
        for partition, accepted in by_partition.items():
            alerts, late = self._apply(partition, accepted)
            applied.alerts += alerts
            applied.late_ids += late
            cached = self._partitions[partition]
            # Never back: a redelivered batch can lie behind what was applied before.
            cached.mark = max(cached.mark, *(a.source.offset for a in accepted))
        return applied

    def _put_back(self, ahead: AppliedAhead) -> None:
        """The windows as they were before ``apply_ahead``."""
        self._built = None
        for p, before in ahead.before.items():
            cached = self._partitions[p]
            cached.mark = before.mark
            cached.syndicates.update(before.syndicates)
            moved = self._moved.setdefault(p, {})
            moved.clear()
            moved.update((s, cached.syndicates[s]) for s in before.moved)

    def _apply(self, partition: int, accepted: Sequence[Accepted]) -> tuple[list[Alert], list[str]]:
        """The rules over one partition's transactions, in offset order: (alerts, late ids)."""
        alerts: list[Alert] = []
        late_ids: list[str] = []
        syndicates = self._partitions[partition].syndicates
        moved = self._moved.setdefault(partition, {})
        for a in sorted(accepted, key=lambda r: r.source.offset):
            t = a.transaction
            kept = syndicates[t.syndicate_id]
            if kept.applied is not None and a.source.offset <= kept.applied:
                continue  # applied, and its table write landed, before a crash
            rules = self.rules.get(t.syndicate_id)
            large = large_transaction(t, rules)
            if large:
                alerts.append(large)
            counted, spike = self.rule.observe(t, kept.window, rules)
            if counted:
                kept.count(to_micros(t.transaction_date))
            else:
                late_ids.append(t.transaction_id)
            if spike:
                alerts.append(spike)
            kept.applied = a.source.offset
            moved[t.syndicate_id] = kept
        return alerts, late_ids

    async def persist(self) -> Settle:
        """Write the windows the batch moved, and the partitions' marks, to the table, after the
        database commit; returns what waits for the changelog to have them."""
        records = self._table_records() if self._built is None else self._built
        self._built = None
        settle = await self.windows.write_records(records)
        self._moved.clear()
        return settle

    def _table_records(self) -> dict[int, list[Record]]:
        """The table's records for the windows the batch moved and their partitions' marks."""
        moved = {p: list(kept.values()) for p, kept in self._moved.items()}
        marks = {p: self._partitions[p].mark for p in self._moved}
        generations = {p: self._partitions[p].generation for p in self._moved}
        return self.windows.records(moved, marks, generations)

    async def _not_stored(
        self, conn: psycopg.AsyncConnection, alerts: list[Alert], replayed: Collection[str]
    ) -> list[Alert]:
        """The alerts of a replayed attempt that are not stored yet (published once, not twice)."""
        maybe = [a.alert_id for a in alerts if a.transaction_id in replayed]
        if not maybe:
            return alerts
        found = await rows(conn, "alerts/existing_alerts", alert_ids=maybe)
        standing = {r["alert_id"] for r in found}
        return [a for a in alerts if a.alert_id not in standing]

    async def _insert_alerts(self, conn: psycopg.AsyncConnection, alerts: list[Alert]) -> None:
        if not alerts:
            return
        await run_many(
            conn,
            "alerts/insert_alert",
            (
                {
                    "alert_id": a.alert_id,
                    "kind": a.kind.value,
                    "syndicate_id": a.syndicate_id,
                    "transaction_id": a.transaction_id,
                    "observed": a.observed,
                    "expected": a.expected,
                    "ratio": a.ratio,
                    "window_start": a.window_start,
                    "window_end": a.window_end,
                    "event_time": a.event_time,
                    "details": orjson.dumps(a.details).decode(),
                }
                for a in alerts
            ),
        )
        for a in alerts:
            metrics.ALERTS.labels(a.kind.value).inc()

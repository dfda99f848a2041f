"""Anomaly detection inside the sink's database transaction.

The spike windows are kept in memory per source partition, but they are only ever a cache of
what PostgreSQL holds: the stored transactions flagged ``in_spike_window``, each syndicate's
first event and open spike, and the partition's watermark, all written in the same database
transaction as the rows that moved them. So a crash, a redelivery or a rebalance can never
count an event twice (the same reason the aggregates are exact), and a restarted worker
rebuilds exactly the windows it had at its last commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson
import psycopg

from config import Settings
from models.anomaly import (
    Alert,
    PartitionWindows,
    SyndicateWindow,
    from_micros,
    large_transaction,
    to_micros,
)
from models.batch import Accepted
from pipeline import metrics
from pipeline.db import iso
from pipeline.syndicate_rules import RulesCache

log = logging.getLogger(__name__)
TOPIC = "transactions"


@dataclass
class Detection:
    alerts: list[Alert] = field(default_factory=list)
    late: int = 0


@dataclass
class _Cached:
    windows: PartitionWindows
    version: int


class AnomalyDetector:
    def __init__(self, settings: Settings) -> None:
        self.rules = RulesCache(settings)
        self.lateness = settings.late_event_seconds * 1_000_000
        self._partitions: dict[int, _Cached] = {}

    def invalidate(self, partitions: Sequence[int] | None = None) -> None:
        """Forget in-memory state (after a failed transaction): it is reloaded from PostgreSQL."""
        if partitions is None:
            self._partitions.clear()
        for p in partitions or ():
            self._partitions.pop(p, None)

    async def prepare(self, conn: psycopg.AsyncConnection, partitions: Sequence[int]) -> None:
        """Bring the windows of ``partitions`` up to date; call before the batch's rows are inserted.

        A rebuild reads the stored transactions: after this batch's INSERT, it would read the
        batch's own rows and then count them a second time when they are observed.
        """
        await self.rules.refresh(conn)
        await self._load(conn, sorted(partitions))

    async def detect(self, conn: psycopg.AsyncConnection, stored: Sequence[Accepted]) -> Detection:
        """Apply newly stored transactions, in consumption order; write alerts and state.

        The partitions must have been ``prepare``d in the same database transaction.
        """
        result = Detection()
        by_partition: dict[int, list[Accepted]] = {}
        for a in stored:
            by_partition.setdefault(a.source.partition, []).append(a)
        if not by_partition:
            return result
        late_ids: list[str] = []
        # What each touched syndicate's stored row said before this batch: only changes are written.
        before: dict[str, tuple[int | None, bool, int]] = {}
        touched: dict[str, SyndicateWindow] = {}
        for partition, rows in by_partition.items():
            windows = self._partitions[partition].windows
            await self._load_syndicates(conn, windows, {a.transaction.syndicate_id for a in rows})
            for a in sorted(rows, key=lambda r: r.source.offset):
                t = a.transaction
                rules = self.rules.get(t.syndicate_id)
                large = large_transaction(t, rules)
                if large:
                    result.alerts.append(large)
                window = windows.syndicates[t.syndicate_id]
                if t.syndicate_id not in before:
                    before[t.syndicate_id] = (
                        window.first_event,
                        window.spike_open,
                        window.alerted_count,
                    )
                    touched[t.syndicate_id] = window
                counted, spike = windows.observe(t, window, rules)
                if not counted:
                    late_ids.append(t.transaction_id)
                if spike:
                    result.alerts.append(spike)
        touched = {
            s: w
            for s, w in touched.items()
            if before[s] != (w.first_event, w.spike_open, w.alerted_count)
        }
        result.late = len(late_ids)
        metrics.LATE_EVENTS.inc(result.late)
        await self._save(conn, by_partition, touched, late_ids)
        if result.alerts:
            await self._insert_alerts(conn, result)
        return result

    async def _load(self, conn: psycopg.AsyncConnection, partitions: list[int]) -> None:
        rows = await (
            await conn.execute(
                "SELECT partition, watermark, version FROM partition_state WHERE topic = %s AND partition = ANY(%s)",
                (TOPIC, partitions),
            )
        ).fetchall()
        stored = {r[0]: (r[1], r[2]) for r in rows}
        for p in partitions:
            watermark, version = stored.get(p, (None, 0))
            cached = self._partitions.get(p)
            if cached is not None and cached.version == version:
                continue
            # First sight of this partition, or someone else wrote it since: rebuild from the database.
            windows = PartitionWindows(lateness=self.lateness)
            if watermark is not None:
                windows.watermark = to_micros(watermark)
                cur = await conn.execute(
                    "SELECT syndicate_id, transaction_date FROM transactions"
                    " WHERE source_partition = %s AND in_spike_window AND transaction_date > %s"
                    " ORDER BY transaction_date",
                    (p, from_micros(windows.horizon())),
                )
                times: dict[str, list[int]] = {}
                async for syndicate_id, moment in cur:
                    times.setdefault(syndicate_id, []).append(to_micros(moment))
                await self._load_syndicates(conn, windows, set(times), times)
            self._partitions[p] = _Cached(windows, version)
            log.info("spike windows of partition %d loaded (version %d)", p, version)

    async def _load_syndicates(
        self,
        conn: psycopg.AsyncConnection,
        windows: PartitionWindows,
        syndicate_ids: set[str],
        times: dict[str, list[int]] | None = None,
    ) -> None:
        missing = [s for s in syndicate_ids if s not in windows.syndicates]
        if not missing:
            return
        rows = await (
            await conn.execute(
                "SELECT syndicate_id, first_event_at, spike_open, alerted_count FROM syndicate_activity"
                " WHERE syndicate_id = ANY(%s)",
                (missing,),
            )
        ).fetchall()
        known = {r[0]: r for r in rows}
        for s in missing:
            row = known.get(s)
            window = SyndicateWindow(times=(times or {}).get(s, []))
            if row is not None:
                window.first_event = to_micros(row[1])
                window.spike_open = row[2]
                window.alerted_count = row[3]
            windows.syndicates[s] = window

    async def _save(
        self,
        conn: psycopg.AsyncConnection,
        by_partition: dict[int, list[Accepted]],
        touched: dict[str, SyndicateWindow],
        late_ids: list[str],
    ) -> None:
        if late_ids:
            await conn.execute(
                "UPDATE transactions SET in_spike_window = false WHERE transaction_id = ANY(%s)",
                (late_ids,),
            )
        activity = [
            (s, from_micros(w.first_event), w.spike_open, w.alerted_count)
            for s, w in sorted(touched.items())
            if w.first_event is not None
        ]
        if activity:
            await conn.execute(
                "INSERT INTO syndicate_activity (syndicate_id, first_event_at, spike_open, alerted_count)"
                " SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::boolean[], %s::integer[])"
                " ON CONFLICT (syndicate_id) DO UPDATE SET first_event_at = excluded.first_event_at,"
                " spike_open = excluded.spike_open, alerted_count = excluded.alerted_count",
                [list(col) for col in zip(*activity, strict=True)],
            )
        partitions = sorted(by_partition)
        watermarks = [self._partitions[p].windows.watermark for p in partitions]
        rows = await (
            await conn.execute(
                "INSERT INTO partition_state (topic, partition, watermark, version)"
                " SELECT %s, p, w, 1 FROM unnest(%s::integer[], %s::timestamptz[]) AS u(p, w)"
                " ON CONFLICT (topic, partition) DO UPDATE SET watermark = excluded.watermark,"
                " version = partition_state.version + 1 RETURNING partition, version",
                (TOPIC, partitions, [None if w is None else from_micros(w) for w in watermarks]),
            )
        ).fetchall()
        for p, version in rows:
            self._partitions[p].version = version

    async def _insert_alerts(self, conn: psycopg.AsyncConnection, result: Detection) -> None:
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO alerts (alert_id, kind, syndicate_id, transaction_id, observed, expected, ratio,"
                " window_start, window_end, event_time, details) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (alert_id) DO NOTHING",
                [
                    (
                        a.alert_id,
                        a.kind.value,
                        a.syndicate_id,
                        a.transaction_id,
                        a.observed,
                        a.expected,
                        a.ratio,
                        a.window_start,
                        a.window_end,
                        a.event_time,
                        orjson.dumps(a.details).decode(),
                    )
                    for a in result.alerts
                ],
            )
        for a in result.alerts:
            metrics.ALERTS.labels(a.kind.value).inc()


def alert_message(
    alert: Alert, syndicate_name: str | None, detected_at: datetime | None = None
) -> dict[str, object]:
    """The JSON published on topic ``alerts``."""

    return {
        "alert_id": str(alert.alert_id),
        "kind": alert.kind.value,
        "syndicate_id": alert.syndicate_id,
        "syndicate_name": syndicate_name,
        "transaction_id": alert.transaction_id,
        "observed": str(alert.observed),
        "expected": str(alert.expected),
        "ratio": None if alert.ratio is None else str(alert.ratio),
        "event_time": iso(alert.event_time),
        "window_start": iso(alert.window_start),
        "window_end": iso(alert.window_end),
        "detected_at": iso(detected_at),
        "details": alert.details,
    }

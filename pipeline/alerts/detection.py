"""Anomaly detection inside the sink's database transaction.

The spike windows are kept in memory, but they are only ever a cache of what PostgreSQL holds: the
stored transactions flagged ``in_spike_window``, and each syndicate's watermark, first event and
open spike, all written in the same database transaction as the rows that moved them. So a crash,
a redelivery or a rebalance can never count an event twice (the same reason the aggregates are
exact), and a restarted worker rebuilds exactly the windows it had at its last commit.

A syndicate's window is loaded when a batch first brings it, before that batch's rows are inserted
(loaded after, it would read them and count them twice). Each source partition's version in
``partition_state`` tells whether another worker wrote the partition since this one did; if so, its
cached windows are dropped and loaded again.
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
from pipeline.alerts.rules import RulesCache
from pipeline.platform import metrics
from pipeline.platform.db import iso
from pipeline.platform.queries import rows, run, run_many

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


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else from_micros(micros)


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
        versions = {r["partition"]: r["version"] for r in stored}
        for p, syndicates in sorted(by_partition.items()):
            version = versions.get(p, 0)
            cached = self._partitions.get(p)
            if cached is None or cached.version != version:
                # First sight of this partition, or someone else wrote it since.
                cached = self._partitions[p] = _Cached(PartitionWindows(self.lateness), version)
                log.info("spike windows of partition %d reset (version %d)", p, version)
            await self._load_syndicates(conn, cached.windows, syndicates)

    async def _load_syndicates(
        self, conn: psycopg.AsyncConnection, windows: PartitionWindows, syndicate_ids: set[str]
    ) -> None:
        missing = sorted(s for s in syndicate_ids if s not in windows.syndicates)
        if not missing:
            return
        stored = await rows(
            conn,
            "alerts/load_syndicate_windows",
            lookback=windows.lookback_seconds,
            syndicates=missing,
        )
        known = {r["syndicate_id"]: r for r in stored}
        for s in missing:
            found = known.get(s)
            window = SyndicateWindow()
            if found is not None:
                window.first_event = to_micros(found["first_event"])
                window.spike_open = found["spike_open"]
                window.alerted_count = found["alerted_count"]
                watermark = found["watermark"]
                window.watermark = None if watermark is None else to_micros(watermark)
                window.times = [to_micros(t) for t in found["times"]]
            windows.syndicates[s] = window

    async def detect(self, conn: psycopg.AsyncConnection, stored: Sequence[Accepted]) -> Detection:
        """Apply newly stored transactions, in consumption order; write alerts and state.

        The batch must have been ``prepare``d in the same database transaction.
        """
        result = Detection()
        by_partition: dict[int, list[Accepted]] = {}
        for a in stored:
            by_partition.setdefault(a.source.partition, []).append(a)
        if not by_partition:
            return result
        late_ids: list[str] = []
        # What each touched syndicate's stored row said before this batch: only changes are written.
        before: dict[str, tuple[object, ...]] = {}
        touched: dict[str, SyndicateWindow] = {}
        for partition, accepted in by_partition.items():
            windows = self._partitions[partition].windows
            for a in sorted(accepted, key=lambda r: r.source.offset):
                t = a.transaction
                rules = self.rules.get(t.syndicate_id)
                large = large_transaction(t, rules)
                if large:
                    result.alerts.append(large)
                window = windows.syndicates[t.syndicate_id]
                if t.syndicate_id not in before:
                    before[t.syndicate_id] = window.state()
                    touched[t.syndicate_id] = window
                counted, spike = windows.observe(t, window, rules)
                if not counted:
                    late_ids.append(t.transaction_id)
                if spike:
                    result.alerts.append(spike)
        changed = {s: w for s, w in touched.items() if before[s] != w.state()}
        result.late = len(late_ids)
        metrics.LATE_EVENTS.inc(result.late)
        await self._save(conn, sorted(by_partition), changed, late_ids)
        if result.alerts:
            await self._insert_alerts(conn, result)
        return result

    async def _save(
        self,
        conn: psycopg.AsyncConnection,
        partitions: list[int],
        changed: dict[str, SyndicateWindow],
        late_ids: list[str],
    ) -> None:
        if late_ids:
            await run(conn, "alerts/mark_late", transaction_ids=late_ids)
        activity = [
            (s, _moment(w.first_event), w.spike_open, w.alerted_count)
            for s, w in sorted(changed.items())
            if w.first_event is not None
        ]
        if activity:
            columns = [list(c) for c in zip(*activity, strict=True)]
            await run(
                conn,
                "alerts/save_syndicate_activity",
                **dict(
                    zip(
                        ("syndicate_ids", "first_events", "spikes_open", "alerted_counts"),
                        columns,
                        strict=True,
                    )
                ),
            )
        bumped = await rows(
            conn, "alerts/bump_partition_versions", topic=TOPIC, partitions=partitions
        )
        for r in bumped:
            self._partitions[r["partition"]].version = r["version"]

    async def _insert_alerts(self, conn: psycopg.AsyncConnection, result: Detection) -> None:
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
                for a in result.alerts
            ),
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

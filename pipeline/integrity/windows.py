"""The spike windows: rebuilt from the stored transactions while the workers run.

The windows live in the Faust table ``spike-windows``, in the workers' memory and stores, where no
other process can change them. So a rebuild moves each partition's windows generation in
PostgreSQL (tables/spike_windows, migration 0014); the worker that owns the partition sees it with
its next batch, finds no window of that generation in its table, and applies again, in offset
order, everything stored of the partition: the same windows live detection built, from the source
of truth. The history's alerts are not decided again (today's rules may differ from those then).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import psycopg

from config import Settings
from models.anomaly import PartitionWindows, SyndicateWindow, to_micros
from models.transaction import Transaction
from pipeline.alerts.rules import RulesCache
from pipeline.integrity.difference import Difference
from pipeline.platform.queries import rows_sync
from pipeline.platform.topics import TRANSACTIONS
from tables.spike_windows import Kept, SpikeWindows, syndicates_of

STATE = "windows"
# What a window holds that follows from the stored transactions alone (the alert state follows
# from the rules in force at the time too, which may have changed since).
_FIELDS = ("times", "watermark", "first_event", "hours_from", "hours")


def verify(conn: psycopg.Connection, changelog: list[Any], settings: Settings) -> list[Difference]:
    """Each window in the table's changelog against the same window built again from the rows
    stored of its syndicate, in offset order, up to the offset the window says it applied: rows the
    database committed before the table was written, so a batch in flight shows no difference.
    Partitions rebuilt but not yet reached by a batch (no mark of their generation) are skipped:
    their worker builds them from these rows."""
    records: dict[int, dict[str, Any]] = {}
    unreadable: dict[tuple[int, str], int] = {}
    for r in changelog:  # the newest record of each key wins; None deletes
        key = r.key.decode(errors="replace") if r.key is not None else ""
        try:
            records.setdefault(r.partition, {})[key] = _value(r.value)
            unreadable.pop((r.partition, key), None)
        except orjson.JSONDecodeError:
            records.setdefault(r.partition, {}).pop(key, None)
            unreadable[(r.partition, key)] = r.offset
    found = [
        Difference(STATE, f"changelog partition {p}", f"record {key!r} at offset {o} is not JSON")
        for (p, key), o in sorted(unreadable.items())
    ]
    lateness = settings.late_event_seconds * 1_000_000
    for state in rows_sync(conn, "integrity/partition_windows", topic=TRANSACTIONS.name):
        p, generation, stored = (
            state["partition"],
            state["windows_generation"],
            state["applied_offset"],
        )
        # The partition's records as a store SpikeWindows reads (it only reads here).
        store = SimpleNamespace(data=records.get(p, {}))
        windows = SpikeWindows(store, None, TRANSACTIONS.name, lateness)
        try:
            mark = windows.mark(p, generation)
        except (KeyError, TypeError, AttributeError) as exc:
            detail = f"its mark in the table cannot be read ({type(exc).__name__}: {exc})"
            found.append(Difference(STATE, f"partition {p}", detail))
            continue
        if mark is None:
            continue
        if stored is None or mark > stored:
            # The table applied what the database does not hold: restored without a rewind?
            detail = f"the table applied offsets up to {mark}, the database only up to {stored}"
            found.append(Difference(STATE, f"partition {p}", detail))
            continue
        heads = _heads(windows, p, generation, found)
        upto = {s: kept.applied for s, kept in heads.items()}
        built = _replay(conn, p, upto, mark, windows.rule, settings)
        found += _compare(heads, built, windows.rule)
    return found


def _heads(
    windows: SpikeWindows, partition: int, generation: int, found: list[Difference]
) -> dict[str, Kept]:
    """The partition's windows of this generation; one the table cannot read is a difference."""
    heads = {}
    for syndicate in syndicates_of(windows.table.data):
        try:
            kept = windows.load(partition, syndicate, generation)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            detail = f"its window in the table cannot be read ({type(exc).__name__}: {exc})"
            found.append(Difference(STATE, f"syndicate {syndicate}", detail))
            continue
        if kept is not None and kept.applied is not None:
            heads[syndicate] = kept
    return heads


def _value(raw: bytes | None) -> Any:
    return None if raw is None else orjson.loads(raw)


def _replay(
    conn: psycopg.Connection,
    partition: int,
    upto: dict[str, int],
    mark: int,
    rule: PartitionWindows,
    settings: Settings,
) -> dict[str, tuple[SyndicateWindow, int]]:
    """Each syndicate's window and last applied offset from the partition's stored rows, up to the
    offset its head applied (``mark`` for a syndicate without one: its head should be there)."""
    rules = RulesCache(settings)  # counting follows no syndicate's rules; defaults do
    last = max([mark, *upto.values()])
    built: dict[str, tuple[SyndicateWindow, int]] = {}
    for r in rows_sync(conn, "integrity/stored_of_partition", partition=partition, upto=last):
        syndicate = r["syndicate_id"]
        if r["source_offset"] > upto.get(syndicate, mark):
            continue
        t = Transaction(
            r["transaction_id"],
            r["investor_id"],
            syndicate,
            r["transaction_amount"],
            r["transaction_date"],
            r["currency"],
        )
        window = built.get(syndicate, (SyndicateWindow(), -1))[0]
        rule.observe(t, window, rules.get(syndicate), to_micros(t.transaction_date))
        built[syndicate] = (window, r["source_offset"])
    return built


def _compare(
    heads: dict[str, Kept],
    expected: dict[str, tuple[SyndicateWindow, int]],
    rule: PartitionWindows,
) -> list[Difference]:
    found = []
    for syndicate in sorted(heads.keys() | expected.keys()):
        kept = heads.get(syndicate)
        subject = f"syndicate {syndicate}"
        if kept is None or syndicate not in expected:
            where = "in the stored transactions" if kept is None else "in the table"
            found.append(Difference(STATE, subject, f"a window only {where}"))
            continue
        window, applied = expected[syndicate]
        if window.watermark is not None:
            horizon = rule.horizon(window.watermark)
            window.times = [t for t in window.times if t > horizon]
        for name in _FIELDS:
            have, want = getattr(kept.window, name), getattr(window, name)
            if have != want:
                detail = f"{name}: the table has {have!r}, the stored transactions give {want!r}"
                found.append(Difference(STATE, subject, detail))
        if kept.applied != applied:
            detail = f"applied offset {kept.applied}, stored up to {applied}"
            found.append(Difference(STATE, subject, detail))
    return found


def rebuild(conn: psycopg.Connection) -> int:
    """The partitions whose windows start a new generation (all that have any)."""
    with conn.transaction():
        return len(rows_sync(conn, "integrity/forget_windows", topic=TRANSACTIONS.name))

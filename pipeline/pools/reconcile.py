"""Rebuild pool projections from the event log and ledger, and report every difference."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import psycopg

from models.pools import TOTALS, Pool, apply, event_from_json, ledger_lines
from pipeline.platform.db import connect
from pipeline.platform.queries import row_sync, rows_sync


def reconcile(database_url: str, pool_id: str | None = None) -> list[str]:
    """Differences between the stored projections/ledger and a replay of the events; empty when clean."""
    differences: list[str] = []
    with connect(database_url) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        pool_ids = (
            [pool_id]
            if pool_id
            else [r["pool_id"] for r in rows_sync(conn, "pools/event_pool_ids")]
        )
        known = {r["pool_id"] for r in rows_sync(conn, "pools/projected_pool_ids")}
        if pool_id is None:
            differences += [
                f"pool {p}: projection without events" for p in sorted(known - set(pool_ids))
            ]
        for pid in sorted(pool_ids):
            replayed, expected_lines, found = replay(conn, pid)
            differences += found
            if replayed is None:
                continue
            differences += _compare_ledger(conn, pid, expected_lines)
            differences += _compare_projections(conn, replayed)
    return differences


Lines = dict[tuple[int, int], tuple[str, Decimal]]


def replay(conn: psycopg.Connection, pid: str) -> tuple[Pool | None, Lines, list[str]]:
    """The pool as its events make it, the ledger lines they post, and what is wrong with the log."""
    events = rows_sync(conn, "pools/events_of_pool", pool_id=pid)
    if not events:
        return None, {}, [f"pool {pid}: no events"]
    differences = []
    replayed: Pool | None = None
    lines: Lines = {}
    for n, stored in enumerate(events, 1):
        seq = stored["seq"]
        if seq != n:
            differences.append(f"pool {pid}: event sequence has a gap or repeat at {seq}")
        event = event_from_json(stored["type"], stored["payload"])
        replayed = apply(replayed, event, pid)
        for line, entry in enumerate(ledger_lines(event)):
            lines[(seq, line)] = entry
    return replayed, lines, differences


def _compare_ledger(
    conn, pid: str, expected: dict[tuple[int, int], tuple[str, Decimal]]
) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    stored = {
        (r["seq"], r["line"]): (r["account"], r["amount"])
        for r in rows_sync(conn, "pools/ledger_of_pool", pool_id=pid)
    }
    for key in sorted(set(expected) | set(stored)):
        if expected.get(key) != stored.get(key):
            out.append(
                f"pool {pid}: ledger line {key}: expected {expected.get(key)}, stored {stored.get(key)}"
            )
    per_event: dict[int, Decimal] = defaultdict(Decimal)
    for (seq, _), (_, amount) in stored.items():
        per_event[seq] += amount
    out += [
        f"pool {pid}: ledger of event {seq} sums to {total}"
        for seq, total in sorted(per_event.items())
        if total
    ]
    return out


def _compare_projections(conn, pool: Pool) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    pid = pool.pool_id
    projected = row_sync(conn, "pools/pool", pool_id=pid)
    want = (pool.status.value, pool.seq, *(pool.total(k) for k in TOTALS))
    got = None if projected is None else tuple(projected[k] for k in ("status", "seq", *TOTALS))
    if got != want:
        out.append(f"pool {pid}: pools row {got} != replay {want}")
    stored = {
        r["investor_id"]: tuple(r[k] for k in TOTALS)
        for r in rows_sync(conn, "pools/positions_of_pool", pool_id=pid)
    }
    replayed = {
        i: (p.committed, p.called, p.contributed, p.distributed) for i, p in pool.positions.items()
    }
    for investor in sorted(set(stored) | set(replayed)):
        if stored.get(investor) != replayed.get(investor):
            out.append(
                f"pool {pid}: position of {investor}: stored {stored.get(investor)} != replay {replayed.get(investor)}"
            )
    allocations = {
        (r["call_id"], r["investor_id"]): (r["amount"], r["paid"])
        for r in rows_sync(conn, "pools/allocations_of_pool", pool_id=pid)
    }
    want_alloc = {
        (c.call_id, i): (a, c.paid.get(i, Decimal("0.00")))
        for c in pool.calls.values()
        for i, a in c.allocations.items()
    }
    for key in sorted(set(allocations) | set(want_alloc)):
        if allocations.get(key) != want_alloc.get(key):
            out.append(
                f"pool {pid}: call allocation {key}: stored {allocations.get(key)} != replay {want_alloc.get(key)}"
            )
    return out

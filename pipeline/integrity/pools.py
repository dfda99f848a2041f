"""Pool projections and ledger against the pools' event logs (the replay of pipeline.pools.reconcile)."""

from __future__ import annotations

from decimal import Decimal

import psycopg

from models.pools import Pool
from pipeline.integrity.difference import Difference
from pipeline.platform.queries import run_sync
from pipeline.pools.reconcile import Lines, reconcile, replay
from pipeline.pools.store import pool_row, position_row

STATE = "pools"


def verify(database_url: str) -> list[Difference]:
    found = []
    for text in reconcile(database_url):
        subject, _, detail = text.partition(": ")
        found.append(Difference(STATE, subject, detail))
    return found


def rebuild(conn: psycopg.Connection, pool_ids: list[str]) -> int:
    """Each pool's rows written again from its events, one database transaction per pool, under the
    lock of its row the command handler takes too; the pools rebuilt."""
    rebuilt = 0
    for pid in pool_ids:
        with conn.transaction():
            run_sync(conn, "pools/lock_pools", pool_ids=[pid])
            pool, lines, _ = replay(conn, pid)
            if pool is None:
                continue
            _write(conn, pool, lines)
            rebuilt += 1
    return rebuilt


def _write(conn: psycopg.Connection, pool: Pool, lines: Lines) -> None:
    pid = pool.pool_id
    run_sync(conn, "pools/upsert_pool", **pool_row(pool))
    for investor, position in sorted(pool.positions.items()):
        run_sync(conn, "pools/upsert_position", **position_row(pid, investor, position))
    run_sync(
        conn, "integrity/delete_other_positions", pool_id=pid, investor_ids=list(pool.positions)
    )
    for call in pool.calls.values():
        run_sync(
            conn,
            "integrity/upsert_call",
            call_id=call.call_id,
            pool_id=pid,
            amount=call.amount,
            due_date=call.due_date,
        )
        for investor, amount in sorted(call.allocations.items()):
            paid = call.paid.get(investor, Decimal("0.00"))
            run_sync(
                conn,
                "integrity/upsert_call_allocation",
                call_id=call.call_id,
                investor_id=investor,
                amount=amount,
                paid=paid,
            )
    run_sync(conn, "integrity/delete_ledger_of_pool", pool_id=pid)
    for (seq, line), (account, amount) in sorted(lines.items()):
        run_sync(
            conn,
            "pools/insert_ledger_line",
            pool_id=pid,
            seq=seq,
            line=line,
            account=account,
            amount=amount,
            currency=pool.currency,
        )

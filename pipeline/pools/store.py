"""Pools in PostgreSQL: load a pool's state, and write what one batch of commands did, atomically."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import psycopg

from models.pools import Call, Event, Pool, PoolStatus, Position, event_json, ledger_lines

_EVENT_NS = uuid.UUID("5d1f3b7a-2c4e-4b8f-9e61-7a0b3c2d1e4f")


@dataclass(frozen=True)
class Outcome:
    idempotency_key: str
    request_hash: str
    pool_id: str
    status_code: int
    response: dict[str, Any]


@dataclass(frozen=True)
class Applied:
    pool_id: str
    seq: int
    idempotency_key: str
    event: Event


def event_id(pool_id: str, seq: int) -> uuid.UUID:
    return uuid.uuid5(_EVENT_NS, f"{pool_id}/{seq}")


async def lock_pools(conn: psycopg.AsyncConnection, pool_ids: Sequence[str]) -> dict[str, int]:
    """Lock the pools' rows in id order (no deadlock cycles); returns their stored sequence numbers."""
    rows = await (
        await conn.execute(
            "SELECT pool_id, seq FROM pools WHERE pool_id = ANY(%s) ORDER BY pool_id FOR UPDATE",
            (list(pool_ids),),
        )
    ).fetchall()
    return {r[0]: r[1] for r in rows}


async def load_pool(conn: psycopg.AsyncConnection, pool_id: str) -> Pool | None:
    row = await (
        await conn.execute(
            "SELECT name, currency, target_size, hard_cap, manager_ids, status, seq FROM pools WHERE pool_id = %s",
            (pool_id,),
        )
    ).fetchone()
    if row is None:
        return None
    pool = Pool(pool_id, row[0], row[1], row[2], row[3], list(row[4]), PoolStatus(row[5]), row[6])
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT investor_id, committed, called, contributed, distributed FROM pool_positions WHERE pool_id = %s",
            (pool_id,),
        )
        for r in await cur.fetchall():
            pool.positions[r[0]] = Position(r[1], r[2], r[3], r[4])
        await cur.execute(
            "SELECT c.call_id, c.amount, c.due_date, a.investor_id, a.amount, a.paid FROM capital_calls c"
            " JOIN call_allocations a USING (call_id) WHERE c.pool_id = %s",
            (pool_id,),
        )
        for call_id, amount, due, investor, allocated, paid in await cur.fetchall():
            call = pool.calls.setdefault(call_id, Call(call_id, amount, due, {}, {}))
            call.allocations[investor] = allocated
            if paid:
                call.paid[investor] = paid
    pool.recount()
    return pool


async def known_outcomes(
    conn: psycopg.AsyncConnection, keys: Iterable[str]
) -> dict[str, tuple[str, int]]:
    rows = await (
        await conn.execute(
            "SELECT idempotency_key, request_hash, status_code FROM pool_commands WHERE idempotency_key = ANY(%s)",
            (list(keys),),
        )
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


async def outcome(conn: psycopg.AsyncConnection, key: str) -> Outcome | None:
    row = await (
        await conn.execute(
            "SELECT request_hash, pool_id, status_code, response FROM pool_commands WHERE idempotency_key = %s",
            (key,),
        )
    ).fetchone()
    return None if row is None else Outcome(key, row[0], row[1], row[2], row[3])


async def save(
    conn: psycopg.AsyncConnection,
    applied: Sequence[Applied],
    pools: dict[str, Pool],
    outcomes: Sequence[Outcome],
) -> None:
    """Events, their ledger lines, the projections of the pools they changed, and every outcome."""
    async with conn.cursor() as cur:
        if applied:
            await cur.executemany(
                "INSERT INTO pool_events (pool_id, seq, event_id, idempotency_key, type, payload)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (
                        a.pool_id,
                        a.seq,
                        event_id(a.pool_id, a.seq),
                        a.idempotency_key,
                        a.event.type,
                        orjson.dumps(event_json(a.event)).decode(),
                    )
                    for a in applied
                ],
            )
            # The outbox of pool-events, in the same transaction (pipeline.pools.publisher).
            await cur.executemany(
                "INSERT INTO pool_events_unpublished (pool_id, seq) VALUES (%s, %s)",
                [(a.pool_id, a.seq) for a in applied],
            )
            lines = [
                (a.pool_id, a.seq, n, account, amount, pools[a.pool_id].currency)
                for a in applied
                for n, (account, amount) in enumerate(ledger_lines(a.event))
            ]
            if lines:
                await cur.executemany(
                    "INSERT INTO ledger_entries (pool_id, seq, line, account, amount, currency)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    lines,
                )
            await _project(cur, pools, applied)
        if outcomes:
            await cur.executemany(
                "INSERT INTO pool_commands (idempotency_key, request_hash, pool_id, status_code, response)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING",
                [
                    (
                        o.idempotency_key,
                        o.request_hash,
                        o.pool_id,
                        o.status_code,
                        orjson.dumps(o.response).decode(),
                    )
                    for o in outcomes
                ],
            )


async def _project(
    cur: psycopg.AsyncCursor, pools: dict[str, Pool], applied: Sequence[Applied]
) -> None:
    """Projection rows of everything the batch changed, one pipelined statement per table."""
    changed = sorted({a.pool_id for a in applied})
    await cur.executemany(
        "INSERT INTO pools (pool_id, name, currency, target_size, hard_cap, manager_ids, status, seq,"
        " committed, called, contributed, distributed) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (pool_id) DO UPDATE SET status = excluded.status, seq = excluded.seq,"
        " committed = excluded.committed, called = excluded.called, contributed = excluded.contributed,"
        " distributed = excluded.distributed, updated_at = now()",
        [
            (
                p.pool_id,
                p.name,
                p.currency,
                p.target_size,
                p.hard_cap,
                p.manager_ids,
                p.status.value,
                p.seq,
                p.total("committed"),
                p.total("called"),
                p.total("contributed"),
                p.total("distributed"),
            )
            for p in (pools[pool_id] for pool_id in changed)
        ],
    )
    positions = sorted({(a.pool_id, i) for a in applied for i in _investors(a.event)})
    if positions:
        await cur.executemany(
            "INSERT INTO pool_positions (pool_id, investor_id, committed, called, contributed, distributed)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (pool_id, investor_id) DO UPDATE SET"
            " committed = excluded.committed, called = excluded.called, contributed = excluded.contributed,"
            " distributed = excluded.distributed",
            [
                (pool_id, i, *_position_values(pools[pool_id].positions[i]))
                for pool_id, i in positions
            ],
        )
    for a in applied:
        pool = pools[a.pool_id]
        if a.event.type == "capital_called":
            call = pool.calls[a.event.data["call_id"]]
            await cur.execute(
                "INSERT INTO capital_calls (call_id, pool_id, amount, due_date, seq) VALUES (%s, %s, %s, %s, %s)",
                (call.call_id, pool.pool_id, call.amount, call.due_date, a.seq),
            )
            await cur.executemany(
                "INSERT INTO call_allocations (call_id, investor_id, amount) VALUES (%s, %s, %s)",
                [(call.call_id, i, amount) for i, amount in sorted(call.allocations.items())],
            )
        elif a.event.type == "contribution_received":
            call = pool.calls[a.event.data["call_id"]]
            investor = a.event.data["investor_id"]
            await cur.execute(
                "UPDATE call_allocations SET paid = %s WHERE call_id = %s AND investor_id = %s",
                (call.paid[investor], call.call_id, investor),
            )


def _investors(event: Event) -> list[str]:
    if "investor_id" in event.data:
        return [event.data["investor_id"]]
    return list(event.data.get("allocations", {}))


def _position_values(p: Position) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return p.committed, p.called, p.contributed, p.distributed

"""Pools in PostgreSQL: load a pool's state, and write what one batch of commands did, atomically:
the events, their ledger lines, the projections and every command's outcome."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg

from models.pools import (
    Call,
    CapitalCalled,
    ContributionReceived,
    Event,
    Pool,
    PoolStatus,
    Position,
    event_json,
    investors_of,
    ledger_lines,
)
from pipeline.platform.queries import row, rows, run, run_many

_EVENT_NS = uuid.UUID("5d1f3b7a-2c4e-4b8f-9e61-7a0b3c2d1e4f")


@dataclass(frozen=True)
class Outcome:
    """The API's idempotency record of one command: the answer every retry with its key gets."""

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
    locked = await rows(conn, "pools/lock_pools", pool_ids=list(pool_ids))
    return {r["pool_id"]: r["seq"] for r in locked}


async def load_pool(conn: psycopg.AsyncConnection, pool_id: str) -> Pool | None:
    r = await row(conn, "pools/pool", pool_id=pool_id)
    if r is None:
        return None
    pool = Pool(
        pool_id,
        r["name"],
        r["currency"],
        r["target_size"],
        r["hard_cap"],
        list(r["manager_ids"]),
        PoolStatus(r["status"]),
        r["seq"],
    )
    for p in await rows(conn, "pools/positions_of_pool", pool_id=pool_id):
        pool.positions[p["investor_id"]] = Position(
            p["committed"], p["called"], p["contributed"], p["distributed"]
        )
    for c in await rows(conn, "pools/calls_of_pool", pool_id=pool_id):
        call = pool.calls.setdefault(
            c["call_id"], Call(c["call_id"], c["amount"], c["due_date"], {})
        )
        call.allocations[c["investor_id"]] = c["allocated"]
        if c["paid"]:
            call.paid[c["investor_id"]] = c["paid"]
    pool.recount()
    return pool


async def known_outcomes(
    conn: psycopg.AsyncConnection, keys: Iterable[str]
) -> dict[str, tuple[str, int]]:
    found = await rows(conn, "pools/known_outcomes", keys=list(keys))
    return {r["idempotency_key"]: (r["request_hash"], r["status_code"]) for r in found}


async def outcome(conn: psycopg.AsyncConnection, key: str) -> Outcome | None:
    r = await row(conn, "pools/outcome", key=key)
    return None if r is None else Outcome(**r)


async def save(
    conn: psycopg.AsyncConnection,
    applied: Sequence[Applied],
    pools: dict[str, Pool],
    outcomes: Sequence[Outcome],
) -> None:
    """Events, their ledger lines, the projections of the pools they changed, and every outcome."""
    if applied:
        await _append_events(conn, applied, pools)
        await _project(conn, pools, applied)
    await run_many(
        conn,
        "pools/insert_outcome",
        (
            {
                "idempotency_key": o.idempotency_key,
                "request_hash": o.request_hash,
                "pool_id": o.pool_id,
                "status_code": o.status_code,
                "response": orjson.dumps(o.response).decode(),
            }
            for o in outcomes
        ),
    )


async def _append_events(
    conn: psycopg.AsyncConnection, applied: Sequence[Applied], pools: dict[str, Pool]
) -> None:
    await run_many(
        conn,
        "pools/insert_event",
        (
            {
                "pool_id": a.pool_id,
                "seq": a.seq,
                "event_id": event_id(a.pool_id, a.seq),
                "idempotency_key": a.idempotency_key,
                "type": a.event.type,
                "payload": orjson.dumps(event_json(a.event)).decode(),
            }
            for a in applied
        ),
    )
    await run_many(
        conn,
        "pools/insert_unpublished_event",
        ({"pool_id": a.pool_id, "seq": a.seq} for a in applied),
    )
    await run_many(
        conn,
        "pools/insert_ledger_line",
        (
            {
                "pool_id": a.pool_id,
                "seq": a.seq,
                "line": n,
                "account": account,
                "amount": amount,
                "currency": pools[a.pool_id].currency,
            }
            for a in applied
            for n, (account, amount) in enumerate(ledger_lines(a.event))
        ),
    )


async def _project(
    conn: psycopg.AsyncConnection, pools: dict[str, Pool], applied: Sequence[Applied]
) -> None:
    """Projection rows of everything the batch changed, one pipelined statement per table."""
    changed = sorted({a.pool_id for a in applied})
    await run_many(conn, "pools/upsert_pool", (pool_row(pools[p]) for p in changed))
    positions = sorted({(a.pool_id, i) for a in applied for i in investors_of(a.event)})
    await run_many(
        conn,
        "pools/upsert_position",
        (position_row(p, i, pools[p].positions[i]) for p, i in positions),
    )
    for a in applied:
        await _project_call(conn, pools[a.pool_id], a)


async def _project_call(conn: psycopg.AsyncConnection, pool: Pool, a: Applied) -> None:
    match a.event:
        case CapitalCalled(call_id=call_id):
            call = pool.calls[call_id]
            await run(
                conn,
                "pools/insert_call",
                call_id=call_id,
                pool_id=pool.pool_id,
                amount=call.amount,
                due_date=call.due_date,
                seq=a.seq,
            )
            await run_many(
                conn,
                "pools/insert_call_allocation",
                (
                    {"call_id": call_id, "investor_id": i, "amount": amount}
                    for i, amount in sorted(call.allocations.items())
                ),
            )
        case ContributionReceived(call_id=call_id, investor_id=investor):
            paid = pool.calls[call_id].paid[investor]
            await run(
                conn,
                "pools/pay_call_allocation",
                paid=paid,
                call_id=call_id,
                investor_id=investor,
            )


def pool_row(p: Pool) -> dict[str, Any]:
    return {
        "pool_id": p.pool_id,
        "name": p.name,
        "currency": p.currency,
        "target_size": p.target_size,
        "hard_cap": p.hard_cap,
        "manager_ids": p.manager_ids,
        "status": p.status.value,
        "seq": p.seq,
        **p.totals,
    }


def position_row(pool_id: str, investor_id: str, p: Position) -> dict[str, Any]:
    return {
        "pool_id": pool_id,
        "investor_id": investor_id,
        "committed": p.committed,
        "called": p.called,
        "contributed": p.contributed,
        "distributed": p.distributed,
    }

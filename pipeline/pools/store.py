"""Pools in PostgreSQL: load a pool's state, and write what one batch of commands did, atomically:
the events, their ledger lines, the projections and every command's outcome."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg

import sql
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

# The columns of pools/save_batch by kind of row, in the order its parameters name them
# (``event_pool_ids``, ``event_seqs``, ...): each row tuple of ``batch_arrays`` follows that order,
# which for pools and positions is the order of ``pool_row``'s and ``position_row``'s keys.
_BATCH_COLUMNS: dict[str, list[str]] = defaultdict(list)
for _name in dict.fromkeys(re.findall(r"%\((\w+)\)b", sql.load("pools/save_batch"))):
    _BATCH_COLUMNS[_name.split("_", 1)[0]].append(_name)
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
    """Events, their ledger lines, the projections of the pools they changed, and every outcome:
    one statement for the batch (a statement per row took most of a batch's time), then the
    capital calls it made or paid, which are rare."""
    await run(conn, "pools/save_batch", **batch_arrays(applied, pools, outcomes))
    for a in applied:
        await _project_call(conn, pools[a.pool_id], a)


def batch_arrays(
    applied: Sequence[Applied], pools: dict[str, Pool], outcomes: Sequence[Outcome]
) -> dict[str, list[Any]]:
    """The parameters of ``pools/save_batch``: a list per column, an element per row."""
    events = [
        (
            a.pool_id,
            a.seq,
            event_id(a.pool_id, a.seq),
            a.idempotency_key,
            a.event.type,
            orjson.dumps(event_json(a.event)).decode(),
        )
        for a in applied
    ]
    lines = [
        (a.pool_id, a.seq, n, account, amount, pools[a.pool_id].currency)
        for a in applied
        for n, (account, amount) in enumerate(ledger_lines(a.event))
    ]
    changed = [pools[p] for p in sorted({a.pool_id for a in applied})]
    projected = [
        tuple({**pool_row(p), "manager_ids": orjson.dumps(p.manager_ids).decode()}.values())
        for p in changed
    ]
    positions = [
        tuple(position_row(p, i, pools[p].positions[i]).values())
        for p, i in sorted({(a.pool_id, i) for a in applied for i in investors_of(a.event)})
    ]
    answers = [
        (
            o.idempotency_key,
            o.request_hash,
            o.pool_id,
            o.status_code,
            orjson.dumps(o.response).decode(),
        )
        for o in outcomes
    ]
    parameters: dict[str, list[Any]] = {}
    for prefix, table in (
        ("event", events),
        ("line", lines),
        ("pool", projected),
        ("position", positions),
        ("outcome", answers),
    ):
        names = _BATCH_COLUMNS[prefix]
        columns = list(zip(*table, strict=True)) if table else [()] * len(names)
        parameters.update(zip(names, map(list, columns), strict=True))
    return parameters


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

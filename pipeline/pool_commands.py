"""Applying pool commands from topic ``pool-commands`` (key = pool id, so one owner applies each pool's
commands in order): decide against the pool's state, then in one database transaction append the events,
their ledger lines, the projections and each command's outcome. Then publish to ``pool-events``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import psycopg

from models.pools import (
    CallCapital,
    ClosePool,
    Command,
    Commit,
    Contribute,
    CreatePool,
    Distribute,
    OpenPool,
    Pool,
    PoolError,
    apply,
    decide,
    event_json,
)
from pipeline import metrics, pool_store
from pipeline.db import connect_async
from pipeline.ingest import EXIT_INTERNAL_ERROR
from pipeline.retry import retry_transient

log = logging.getLogger(__name__)

# In-process waiters: an HTTP request served by the worker that applies its command is answered
# without polling the database. Other processes poll (pipeline.pool_api).
WAITERS: dict[str, asyncio.Future[pool_store.Outcome]] = {}


@dataclass(frozen=True)
class CommandMessage:
    idempotency_key: str
    request_hash: str
    type: str
    pool_id: str
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.__dict__)

    @classmethod
    def from_bytes(cls, raw: bytes) -> CommandMessage:
        doc = orjson.loads(raw)
        return cls(
            doc["idempotency_key"], doc["request_hash"], doc["type"], doc["pool_id"], doc["data"]
        )

    def command(self) -> Command:
        d, p = self.data, self.pool_id
        money = lambda key: None if d.get(key) is None else Decimal(d[key])  # noqa: E731
        if self.type == "create_pool":
            return CreatePool(
                p,
                d["name"],
                d["currency"],
                Decimal(d["target_size"]),
                Decimal(d["hard_cap"]),
                d["manager_id"],
                d.get("status") == "draft",
            )
        if self.type == "commit":
            return Commit(p, d["investor_id"], Decimal(d["amount"]))
        if self.type == "capital_call":
            return CallCapital(p, d["call_id"], d["due_date"], money("percent"), money("amount"))
        if self.type == "contribute":
            return Contribute(p, d["investor_id"], d["call_id"], Decimal(d["amount"]))
        if self.type == "distribute":
            return Distribute(p, d["distribution_id"], Decimal(d["amount"]))
        if self.type == "close":
            return ClosePool(p)
        if self.type == "open":
            return OpenPool(p)
        raise ValueError(f"unknown command type {self.type!r}")


def pool_json(pool: Pool) -> dict[str, Any]:
    return {
        "id": pool.pool_id,
        "pool_id": pool.pool_id,
        "name": pool.name,
        "currency": pool.currency,
        "target_size": str(pool.target_size),
        "hard_cap": str(pool.hard_cap),
        "manager_ids": pool.manager_ids,
        "status": pool.status.value,
        "committed": str(pool.total("committed")),
        "called": str(pool.total("called")),
        "contributed": str(pool.total("contributed")),
        "distributed": str(pool.total("distributed")),
        "sequence": pool.seq,
    }


def position_json(pool: Pool, investor_id: str) -> dict[str, Any]:
    p = pool.positions[investor_id]
    return {
        "pool_id": pool.pool_id,
        "investor_id": investor_id,
        "committed": str(p.committed),
        "called": str(p.called),
        "contributed": str(p.contributed),
        "distributed": str(p.distributed),
        "unfunded": str(p.unfunded),
    }


def response_for(
    message: CommandMessage, pool: Pool, event_type: str, event_data: dict[str, Any]
) -> tuple[int, dict]:
    if message.type == "create_pool":
        return 201, pool_json(pool)
    if message.type in ("close", "open"):
        return 200, pool_json(pool)
    body: dict[str, Any] = {
        "event": {"type": event_type, "sequence": pool.seq, **event_data},
        "pool": pool_json(pool),
    }
    if "investor_id" in event_data:
        body["position"] = position_json(pool, event_data["investor_id"])
    body.update(event_data)
    return 201, body


class PoolCommandHandler:
    def __init__(self, database_url: str, events_topic: Any) -> None:
        self._url = database_url
        self._events_topic = events_topic
        self._conn: psycopg.AsyncConnection | None = None
        self._pools: dict[str, Pool] = {}

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = await connect_async(self._url)
        return self._conn

    async def _discard(self) -> None:
        self._conn = None
        self._pools.clear()

    async def handle(self, events: Sequence[Any]) -> list[pool_store.Outcome]:
        """Apply a batch of command messages; never raises (see pipeline.ingest)."""
        try:
            messages = []
            for e in events:
                try:
                    messages.append(CommandMessage.from_bytes(e.message.value))
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    log.error("skipping a malformed pool command at offset %s", e.message.offset)
            if not messages:
                return []
            applied, outcomes = await retry_transient(
                lambda: self._apply(messages),
                self._discard,
                f"applying {len(messages)} pool commands",
            )
            for a in applied:
                await self._events_topic.send(
                    key=a.pool_id.encode(),
                    value=orjson.dumps(
                        {
                            "pool_id": a.pool_id,
                            "seq": a.seq,
                            "type": a.event.type,
                            "idempotency_key": a.idempotency_key,
                            "data": event_json(a.event),
                        }
                    ),
                )
            for o in outcomes:
                metrics.POOL_COMMANDS.labels(str(o.status_code)).inc()
                waiter = WAITERS.pop(o.idempotency_key, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(o)
            answered = {o.idempotency_key for o in outcomes}
            for m in messages:  # retries of applied commands, waited on in this process
                if m.idempotency_key not in answered and m.idempotency_key in WAITERS:
                    conn = await self._connection()
                    async with conn.transaction():  # not autocommit: never leave one open
                        stored = await pool_store.outcome(conn, m.idempotency_key)
                    waiter = WAITERS.pop(m.idempotency_key, None)
                    if stored is not None and waiter is not None and not waiter.done():
                        waiter.set_result(stored)
            return outcomes
        except Exception:
            log.critical("applying pool commands failed unexpectedly; stopping hard", exc_info=True)
            os._exit(EXIT_INTERNAL_ERROR)

    async def _apply(
        self, messages: list[CommandMessage]
    ) -> tuple[list[pool_store.Applied], list[pool_store.Outcome]]:
        conn = await self._connection()
        try:
            async with conn.transaction():
                stored_seq = await pool_store.lock_pools(
                    conn, sorted({m.pool_id for m in messages})
                )
                for pool_id, seq in stored_seq.items():
                    cached = self._pools.get(pool_id)
                    if cached is None or cached.seq != seq:
                        loaded = await pool_store.load_pool(conn, pool_id)
                        assert loaded is not None
                        self._pools[pool_id] = loaded
                done = await pool_store.known_outcomes(conn, [m.idempotency_key for m in messages])
                working = {p: self._pools[p] for p in stored_seq}
                applied: list[pool_store.Applied] = []
                outcomes: list[pool_store.Outcome] = []
                for m in messages:
                    if m.idempotency_key in done:
                        continue  # a redelivered command: applied before, its answer is stored
                    done[m.idempotency_key] = (m.request_hash, 0)
                    pool = working.get(m.pool_id)
                    try:
                        event = decide(pool, m.command())
                    except PoolError as exc:
                        outcomes.append(
                            pool_store.Outcome(
                                m.idempotency_key,
                                m.request_hash,
                                m.pool_id,
                                exc.status,
                                {"error": str(exc)},
                            )
                        )
                        continue
                    except (ValueError, ArithmeticError, KeyError) as exc:
                        outcomes.append(
                            pool_store.Outcome(
                                m.idempotency_key,
                                m.request_hash,
                                m.pool_id,
                                422,
                                {"error": f"invalid command: {exc}"},
                            )
                        )
                        continue
                    pool = working[m.pool_id] = apply(pool, event, m.pool_id)
                    applied.append(
                        pool_store.Applied(m.pool_id, pool.seq, m.idempotency_key, event)
                    )
                    status, body = response_for(m, pool, event.type, event_json(event))
                    outcomes.append(
                        pool_store.Outcome(
                            m.idempotency_key, m.request_hash, m.pool_id, status, body
                        )
                    )
                await pool_store.save(conn, applied, working, outcomes)
        except BaseException:
            self._pools.clear()  # rolled back: the cache may hold state that was never stored
            raise
        self._pools.update(working)
        return applied, outcomes

"""Applying pool commands from topic ``pool-commands`` (key = pool id, so one owner applies each pool's
commands in order): decide against the pool's state, then in one database transaction append the events,
their ledger lines, the projections and each command's outcome. Then publish to ``pool-events``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from models import messages
from models.batch import DeadLetter, SourceMessage, internal_error
from models.errors import InvalidMessage
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
from pipeline.platform import metrics
from pipeline.platform.consuming import isolate, source_of
from pipeline.platform.db import LazyConnection
from pipeline.platform.dead_letters import DeadLetterOffice
from pipeline.platform.retry import retry_transient
from pipeline.pools import store as pool_store
from pipeline.pools.publisher import PoolEventPublisher, applied_message

log = logging.getLogger(__name__)
Received = tuple[SourceMessage, "CommandMessage"]

COMMAND_TYPES = frozenset(
    {"create_pool", "commit", "capital_call", "contribute", "distribute", "close", "open"}
)
# In-process waiters: an HTTP request served by the worker that applies its command is answered
# without polling the database. Other processes poll (pipeline.pools.api).
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
    def from_bytes(cls, raw: bytes | None) -> CommandMessage:
        """Refuses, with InvalidMessage, anything this handler could not apply or store."""
        doc = messages.load_object(raw)
        kind = messages.text(doc, "type")
        if kind not in COMMAND_TYPES:
            raise InvalidMessage("bad_field", f"type {kind!r} is not a pool command")
        data = doc.get("data")
        if not isinstance(data, dict):
            raise InvalidMessage("bad_field", "data must be an object")
        return cls(
            messages.text(doc, "idempotency_key", max_length=400),
            messages.text(doc, "request_hash"),
            kind,
            messages.text(doc, "pool_id"),
            data,
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
    def __init__(
        self, database_url: str, events: PoolEventPublisher, dead_letters: DeadLetterOffice
    ) -> None:
        self._connection = LazyConnection(database_url, autocommit=False)
        self._events = events
        self._dead_letters = dead_letters
        self._pools: dict[str, Pool] = {}

    async def _discard(self) -> None:
        await self._connection.discard()
        self._pools.clear()

    async def handle(self, events: Sequence[Any]) -> list[pool_store.Outcome]:
        """Apply a batch of command messages. Messages that break the contract, or whose content
        PostgreSQL refuses, go to ``internal-dlq``; every other command of the batch is applied."""
        letters: list[DeadLetter] = []
        received: list[Received] = []
        for event in events:
            source = source_of(event)
            try:
                received.append((source, CommandMessage.from_bytes(source.value)))
            except InvalidMessage as exc:
                letters.append(DeadLetter(source, exc.reason, exc.detail))

        def poisoned(item: Received, exc: BaseException) -> None:
            letters.append(internal_error(item[0], exc))
            self._answer(
                item[1].idempotency_key,
                pool_store.Outcome(
                    item[1].idempotency_key,
                    item[1].request_hash,
                    item[1].pool_id,
                    422,
                    {"error": f"the command could not be applied ({type(exc).__name__})"},
                ),
            )

        parts = await isolate(received, self._apply_with_retry, poisoned)
        await self._dead_letters.send(letters)
        applied = [a for part in parts for a in part[0]]
        outcomes = [o for part in parts for o in part[1]]
        await self._events.publish([applied_message(a) for a in applied])
        for o in outcomes:
            metrics.POOL_COMMANDS.labels(str(o.status_code)).inc()
            self._answer(o.idempotency_key, o)
        answered = {o.idempotency_key for o in outcomes}
        for _, m in received:  # retries of applied commands, waited on in this process
            if m.idempotency_key not in answered and m.idempotency_key in WAITERS:
                stored = await retry_transient(lambda m=m: self._stored(m.idempotency_key))
                if stored is not None:
                    self._answer(m.idempotency_key, stored)
        return outcomes

    @staticmethod
    def _answer(key: str, outcome: pool_store.Outcome) -> None:
        waiter = WAITERS.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)

    async def _stored(self, key: str) -> pool_store.Outcome | None:
        conn = await self._connection.get()
        async with conn.transaction():  # not autocommit: never leave one open
            return await pool_store.outcome(conn, key)

    async def _apply_with_retry(
        self, chunk: Sequence[Received]
    ) -> tuple[list[pool_store.Applied], list[pool_store.Outcome]]:
        return await retry_transient(
            lambda: self._apply([m for _, m in chunk]),
            self._discard,
            f"applying {len(chunk)} pool commands",
        )

    async def _apply(
        self, messages: list[CommandMessage]
    ) -> tuple[list[pool_store.Applied], list[pool_store.Outcome]]:
        conn = await self._connection.get()
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
                    except (ValueError, ArithmeticError, LookupError, TypeError) as exc:
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

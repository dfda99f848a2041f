"""Applying pool commands from topic ``pool-commands`` (key = pool id, so one owner applies each pool's
commands in order): decide against the pool's state, then in one database transaction append the events,
their ledger lines, the projections and each command's outcome. Then publish to ``pool-events``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from models import messages
from models.batch import DeadLetter, SourceMessage, internal_error
from models.errors import InvalidMessage
from models.pools import COMMAND_KINDS, Command, Pool, PoolError, apply, command_from_wire, decide
from pipeline.platform import metrics
from pipeline.platform.consuming import isolate, source_of
from pipeline.platform.db import LazyConnection
from pipeline.platform.dead_letters import DeadLetterOffice
from pipeline.platform.retry import retry_transient
from pipeline.pools import http
from pipeline.pools import store as pool_store
from pipeline.pools.publisher import PoolEventPublisher, applied_message

log = logging.getLogger(__name__)
Received = tuple[SourceMessage, "CommandMessage"]

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
        if kind not in COMMAND_KINDS:
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
        return command_from_wire(self.type, self.pool_id, self.data)

    def outcome(self, status_code: int, response: dict[str, Any]) -> pool_store.Outcome:
        """The idempotency record of this command: rendered for the API when it is stored, in the
        same transaction as the events, because every retry with the key must get this answer."""
        return pool_store.Outcome(
            self.idempotency_key, self.request_hash, self.pool_id, status_code, response
        )


@dataclass(frozen=True)
class Handled:
    """A batch's outcomes; ``settle`` finishes publishing its events (pipeline.platform.batches)."""

    outcomes: list[pool_store.Outcome]
    settle: Callable[[], Awaitable[None]]


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

    async def handle(self, events: Sequence[Any]) -> Handled:
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
            message = item[1]
            body = {"error": f"the command could not be applied ({type(exc).__name__})"}
            self._answer(message.idempotency_key, message.outcome(422, body))

        parts = await isolate(received, self._apply_with_retry, poisoned)
        await self._dead_letters.send(letters)
        applied = [a for part in parts for a in part[0]]
        outcomes = [o for part in parts for o in part[1]]
        # Stored already: the callers are answered now, and the broker's acknowledgement of the
        # events is awaited while the next batch is applied (the outbox relay covers a crash).
        settle = await self._events.hand_over([applied_message(a) for a in applied])
        for o in outcomes:
            metrics.POOL_COMMANDS.labels(str(o.status_code)).inc()
            self._answer(o.idempotency_key, o)
        answered = {o.idempotency_key for o in outcomes}
        for _, m in received:  # retries of applied commands, waited on in this process
            if m.idempotency_key not in answered and m.idempotency_key in WAITERS:
                stored = await retry_transient(lambda m=m: self._stored(m.idempotency_key))
                if stored is not None:
                    self._answer(m.idempotency_key, stored)
        return Handled(outcomes, settle)

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
                applied, outcomes = self._decide(messages, working, done)
                await pool_store.save(conn, applied, working, outcomes)
        except BaseException:
            self._pools.clear()  # rolled back: the cache may hold state that was never stored
            raise
        self._pools.update(working)
        return applied, outcomes

    @staticmethod
    def _decide(
        messages: list[CommandMessage],
        working: dict[str, Pool],
        done: dict[str, tuple[str, int]],
    ) -> tuple[list[pool_store.Applied], list[pool_store.Outcome]]:
        """Each command in order against the pools as the batch leaves them; a key seen before (in
        the database or earlier in the batch) is skipped: its stored outcome answers it."""
        applied: list[pool_store.Applied] = []
        outcomes: list[pool_store.Outcome] = []
        for m in messages:
            if m.idempotency_key in done:
                continue
            done[m.idempotency_key] = (m.request_hash, 0)
            pool = working.get(m.pool_id)
            try:
                command = m.command()
                event = decide(pool, command)
            except PoolError as exc:
                outcomes.append(m.outcome(*http.refused(exc)))
                continue
            except (ValueError, ArithmeticError, LookupError, TypeError) as exc:
                outcomes.append(m.outcome(*http.invalid(exc)))
                continue
            pool = working[m.pool_id] = apply(pool, event, m.pool_id)
            applied.append(pool_store.Applied(m.pool_id, pool.seq, m.idempotency_key, event))
            outcomes.append(m.outcome(*http.answer(command, pool, event)))
        return applied, outcomes

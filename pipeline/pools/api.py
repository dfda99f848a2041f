"""The pools HTTP API, served by the Faust web server: JSON in and out.

Writes go through topic ``pool-commands`` and answer once the command was applied, with the resulting
state. Every POST needs an ``Idempotency-Key``: the same key and body get the same answer without
applying twice; the same key with another body gets 409.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
from psycopg_pool import AsyncConnectionPool
from pydantic import Field, model_validator

from models.access import LOCAL, Principal, Role, may_create_pool_for
from models.messages import storable
from pipeline.platform.db import LazyPool
from pipeline.platform.json_bodies import MAX_BODY_BYTES, ApiError, Body, parse_body
from pipeline.platform.queries import row, rows, run
from pipeline.pools import http
from pipeline.pools import store as pool_store
from pipeline.pools.commands import WAITERS, CommandMessage

_ID_NS = uuid.UUID("9b8e2f1c-4d3a-4e5f-8a7b-6c5d4e3f2a1b")
Money = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=2)]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^\S(.*\S)?$")]


class CreatePoolBody(Body):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    target_size: Money
    hard_cap: Money
    manager_id: Identifier
    status: Literal["open", "draft"] = "open"


class CommitmentBody(Body):
    investor_id: Identifier
    amount: Money


class CapitalCallBody(Body):
    percent: Annotated[Decimal, Field(gt=0, le=100, max_digits=7, decimal_places=4)] | None = None
    amount: Money | None = None
    due_date: date

    @model_validator(mode="after")
    def one_of(self) -> CapitalCallBody:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("give exactly one of percent and amount")
        return self


class ContributionBody(Body):
    investor_id: Identifier
    call_id: Identifier
    amount: Money


class DistributionBody(Body):
    amount: Money


class EmptyBody(Body):
    pass


#: A pool's commands by the last segment of their route: the command's kind and its body. The
#: HTTP API and the console's forms both take them from here.
POOL_COMMAND_BODIES: dict[str, tuple[str, type[Body]]] = {
    "commitments": ("commit", CommitmentBody),
    "capital-calls": ("capital_call", CapitalCallBody),
    "contributions": ("contribute", ContributionBody),
    "distributions": ("distribute", DistributionBody),
    "close": ("close", EmptyBody),
    "open": ("open", EmptyBody),
}


def for_themselves(caller: Principal) -> Callable[[dict[str, Any]], None]:
    """The check on a new pool: a fund manager creates pools only for themselves."""

    def check(data: dict[str, Any]) -> None:
        if not may_create_pool_for(caller, data["manager_id"]):
            raise ApiError(403, {"error": "a fund manager creates pools only for themselves"})

    return check


def data_of(body: Body) -> dict[str, Any]:
    return {
        k: (str(v) if isinstance(v, Decimal | date) else v)
        for k, v in body.model_dump().items()
        if v is not None
    }


def request_hash(method: str, path: str, data: dict[str, Any]) -> str:
    return hashlib.sha256(
        f"{method} {path}\n".encode() + orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def derived_id(*parts: str) -> str:
    """Ids made from the Idempotency-Key, so a retried create makes the same pool, call or distribution."""
    return str(uuid.uuid5(_ID_NS, "/".join(parts)))


async def scope(conn: Any, caller: Principal) -> None:
    """Row-level security for this transaction: a fund manager's or investor's reads return only
    their rows, even if a query asked for more (migration 0006)."""
    if caller.role is Role.FUND_MANAGER and caller.manager_id:
        await run(conn, "pools/scope_to_manager", manager_id=caller.manager_id)
    elif caller.role is Role.INVESTOR and caller.investor_id:
        await run(conn, "pools/scope_to_investor", investor_id=caller.investor_id)


class PoolApi:
    def __init__(
        self,
        database_url: str,
        commands_topic: Any,
        wait_seconds: float = 15.0,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_json_depth: int = 8,
        read_url: str | None = None,
    ) -> None:
        self._max_bytes = max_body_bytes
        self._max_depth = max_json_depth
        self._commands = commands_topic
        self._wait = wait_seconds
        self._pool = LazyPool(lambda: database_url, max_size=8)
        # Listings of positions read the replica, if any; a pool's own state (what a command's
        # caller reads next) stays on the primary.
        self._reads = LazyPool(lambda: read_url or database_url, max_size=4)

    async def db(self) -> AsyncConnectionPool:
        return await self._pool.get()

    async def reads(self) -> AsyncConnectionPool:
        return await self._reads.get()

    async def command(
        self,
        method: str,
        path: str,
        key: str | None,
        raw: bytes,
        kind: str,
        pool_id: str | None,
        model: type[Body],
        caller: Principal = LOCAL,
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        if not key:
            raise ApiError(400, {"error": "the Idempotency-Key header is required on every POST"})
        if len(key) > 200:
            raise ApiError(400, {"error": "Idempotency-Key is longer than 200 characters"})
        data = data_of(parse_body(raw, model, self._max_bytes, self._max_depth))
        if check is not None:
            check(data)
        # Keys are the caller's own: another caller's key never answers with someone else's outcome.
        if caller is not LOCAL:
            key = f"{caller.username}/{key}"
        digest = request_hash(method, path, data)
        if pool_id is None:
            pool_id = derived_id("pool", key)
        if kind == "capital_call":
            data["call_id"] = derived_id(pool_id, "call", key)
        elif kind == "distribute":
            data["distribution_id"] = derived_id(pool_id, "distribution", key)
        # No lookup first: a command whose key was already applied is skipped by the agent, which then
        # answers with the stored outcome; sending it again costs less than asking on every request.
        message = CommandMessage(key, digest, kind, pool_id, data)
        waiter = WAITERS.setdefault(key, asyncio.get_running_loop().create_future())
        sent = await (await self._commands.send(key=pool_id.encode(), value=message.to_bytes()))
        known = await self._await_outcome(key, waiter, sent.topic_partition)
        if known.request_hash != digest:
            raise ApiError(409, {"error": "this Idempotency-Key was used for a different request"})
        return known.status_code, known.response

    async def _await_outcome(
        self, key: str, waiter: asyncio.Future[pool_store.Outcome], partition: Any
    ) -> pool_store.Outcome:
        """The outcome from the worker that applies the command: through the future when that is
        this process, which owns the command's partition; else (or once a rebalance moved it)
        from the database, asked with a growing pause."""
        deadline = time.monotonic() + self._wait
        pause = 0.1
        try:
            while time.monotonic() < deadline:
                try:
                    return await asyncio.wait_for(asyncio.shield(waiter), timeout=pause)
                except TimeoutError:
                    pass
                if self._applied_here(partition):
                    continue
                async with (await self.db()).connection() as conn:
                    found = await pool_store.outcome(conn, key)
                if found is not None:
                    return found
                pause = min(pause * 2, 1.0)
        finally:
            WAITERS.pop(key, None)
        raise ApiError(
            504,
            {
                "error": "the command was accepted but not applied in time; retry with the same Idempotency-Key"
            },
        )

    def _applied_here(self, partition: Any) -> bool:
        """Whether this worker's consumer holds the partition, so it answers through the future."""
        return partition in self._commands.app.consumer.assignment()

    async def pool(self, pool_id: str, caller: Principal = LOCAL) -> dict[str, Any]:
        if not storable(pool_id):  # no such pool can exist; PostgreSQL would refuse the query
            raise ApiError(404, {"error": "pool not found"})
        async with (await self.db()).connection() as conn, conn.transaction():
            await scope(conn, caller)
            found = await row(conn, "pools/pool", pool_id=pool_id)
        if found is None:
            raise ApiError(404, {"error": f"pool {pool_id} not found"})
        return http.pool_json(**found)

    async def positions(
        self,
        pool_id: str | None = None,
        investor_id: str | None = None,
        managed_by: str | None = None,
        caller: Principal = LOCAL,
    ) -> list[dict[str, Any]]:
        value = pool_id if pool_id is not None else investor_id
        if value is None or not storable(value):
            return []
        async with (await self.reads()).connection() as conn, conn.transaction():
            await scope(conn, caller)
            if pool_id is not None:
                found = await rows(conn, "pools/positions_of_pool", pool_id=pool_id)
            elif managed_by is None:
                found = await rows(conn, "pools/positions_of_investor", investor_id=investor_id)
            else:
                found = await rows(
                    conn,
                    "pools/positions_of_investor_managed_by",
                    investor_id=investor_id,
                    manager_id=managed_by,
                )
        return [http.position_json(**r) for r in found]

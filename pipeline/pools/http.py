"""The pools API's JSON, in one place: the shape of a pool and of a position, the answer to each
command, and the HTTP status of each reason a command is refused (the domain knows no HTTP)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from models.pools import (
    ClosePool,
    Command,
    CreatePool,
    Event,
    OpenPool,
    Pool,
    PoolError,
    PoolNotFound,
    event_json,
)

_STATUS: dict[type[PoolError], int] = {PoolNotFound: 404}
REFUSED = 409  # any other PoolError: a business rule the command breaks


def status_of(error: PoolError) -> int:
    return _STATUS.get(type(error), REFUSED)


def pool_json(
    *,
    pool_id: str,
    name: str,
    currency: str,
    target_size: Decimal,
    hard_cap: Decimal,
    manager_ids: list[str],
    status: str,
    committed: Decimal,
    called: Decimal,
    contributed: Decimal,
    distributed: Decimal,
    seq: int,
) -> dict[str, Any]:
    """A pool, from its state or from its projection row (the same names)."""
    return {
        "id": pool_id,
        "pool_id": pool_id,
        "name": name,
        "currency": currency,
        "target_size": str(target_size),
        "hard_cap": str(hard_cap),
        "manager_ids": list(manager_ids),
        "status": str(status),
        "committed": str(committed),
        "called": str(called),
        "contributed": str(contributed),
        "distributed": str(distributed),
        "sequence": seq,
    }


def position_json(
    *,
    pool_id: str,
    investor_id: str,
    committed: Decimal,
    called: Decimal,
    contributed: Decimal,
    distributed: Decimal,
) -> dict[str, Any]:
    """An investor's position in a pool, from the state or from its projection row."""
    return {
        "pool_id": pool_id,
        "investor_id": investor_id,
        "committed": str(committed),
        "called": str(called),
        "contributed": str(contributed),
        "distributed": str(distributed),
        "unfunded": str(committed - contributed),
    }


def pool_state_json(pool: Pool) -> dict[str, Any]:
    return pool_json(
        pool_id=pool.pool_id,
        name=pool.name,
        currency=pool.currency,
        target_size=pool.target_size,
        hard_cap=pool.hard_cap,
        manager_ids=pool.manager_ids,
        status=pool.status.value,
        seq=pool.seq,
        **pool.totals,
    )


def answer(command: Command, pool: Pool, event: Event) -> tuple[int, dict[str, Any]]:
    """What the API answers for a command that was applied."""
    match command:
        case CreatePool():
            return 201, pool_state_json(pool)
        case ClosePool() | OpenPool():
            return 200, pool_state_json(pool)
    data = event_json(event)
    body: dict[str, Any] = {
        "event": {"type": event.type, "sequence": pool.seq, **data},
        "pool": pool_state_json(pool),
    }
    if "investor_id" in data:
        position = pool.positions[data["investor_id"]]
        body["position"] = position_json(
            pool_id=pool.pool_id, investor_id=data["investor_id"], **vars(position)
        )
    body.update(data)
    return 201, body


def refused(error: PoolError) -> tuple[int, dict[str, Any]]:
    return status_of(error), {"error": str(error)}


def invalid(error: Exception) -> tuple[int, dict[str, Any]]:
    return 422, {"error": f"invalid command: {error}"}

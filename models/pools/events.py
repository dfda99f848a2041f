"""What happened to a pool, one type per event. ``type`` is the event's name in the event log and on
the ``pool-events`` topic; ``event_json`` is its payload there (money as decimal strings)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, ClassVar

from models.pools.state import PoolStatus


@dataclass(frozen=True)
class PoolCreated:
    type: ClassVar[str] = "pool_created"
    name: str
    currency: str
    target_size: Decimal
    hard_cap: Decimal
    manager_ids: tuple[str, ...]
    status: PoolStatus


@dataclass(frozen=True)
class PoolOpened:
    type: ClassVar[str] = "pool_opened"


@dataclass(frozen=True)
class PoolClosed:
    type: ClassVar[str] = "pool_closed"


@dataclass(frozen=True)
class CommitmentMade:
    type: ClassVar[str] = "commitment_made"
    investor_id: str
    amount: Decimal


@dataclass(frozen=True)
class CapitalCalled:
    type: ClassVar[str] = "capital_called"
    call_id: str
    amount: Decimal
    due_date: str
    allocations: dict[str, Decimal]
    percent: Decimal | None = None  # absent from the payload for a call by amount


@dataclass(frozen=True)
class ContributionReceived:
    type: ClassVar[str] = "contribution_received"
    investor_id: str
    call_id: str
    amount: Decimal


@dataclass(frozen=True)
class DistributionMade:
    type: ClassVar[str] = "distribution_made"
    distribution_id: str
    amount: Decimal
    allocations: dict[str, Decimal]


Event = (
    PoolCreated
    | PoolOpened
    | PoolClosed
    | CommitmentMade
    | CapitalCalled
    | ContributionReceived
    | DistributionMade
)
EVENT_TYPES: dict[str, type[Event]] = {
    e.type: e
    for e in (
        PoolCreated,
        PoolOpened,
        PoolClosed,
        CommitmentMade,
        CapitalCalled,
        ContributionReceived,
        DistributionMade,
    )
}
_MONEY = frozenset({"amount", "target_size", "hard_cap", "percent"})


def event_json(event: Event) -> dict[str, Any]:
    """The event's payload: its fields in order, money as decimal strings, no empty percent."""
    out: dict[str, Any] = {}
    for f in fields(event):
        value = getattr(event, f.name)
        if value is None:
            continue
        if isinstance(value, Decimal | PoolStatus):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, dict):
            value = {k: str(v) for k, v in value.items()}
        out[f.name] = value
    return out


def event_from_json(kind: str, payload: dict[str, Any]) -> Event:
    """An event read back from the event log."""
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown event type {kind}")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in payload:
            continue
        value = payload[f.name]
        if f.name in _MONEY:
            value = Decimal(str(value))
        elif f.name == "allocations":
            value = {i: Decimal(str(a)) for i, a in value.items()}
        elif f.name == "manager_ids":
            value = tuple(value)
        elif f.name == "status":
            value = PoolStatus(value)
        values[f.name] = value
    return cls(**values)

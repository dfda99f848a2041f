"""What a fund manager asks of a pool, one type per command. ``kind`` is the command's name on the
``pool-commands`` topic; docs/POOLS.md maps each route to its command and the event it produces."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar


@dataclass(frozen=True)
class CreatePool:
    kind: ClassVar[str] = "create_pool"
    pool_id: str
    name: str
    currency: str
    target_size: Decimal
    hard_cap: Decimal
    manager_id: str
    draft: bool = False


@dataclass(frozen=True)
class Commit:
    kind: ClassVar[str] = "commit"
    pool_id: str
    investor_id: str
    amount: Decimal


@dataclass(frozen=True)
class CallCapital:
    kind: ClassVar[str] = "capital_call"
    pool_id: str
    call_id: str
    due_date: str
    percent: Decimal | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class Contribute:
    kind: ClassVar[str] = "contribute"
    pool_id: str
    investor_id: str
    call_id: str
    amount: Decimal


@dataclass(frozen=True)
class Distribute:
    kind: ClassVar[str] = "distribute"
    pool_id: str
    distribution_id: str
    amount: Decimal


@dataclass(frozen=True)
class ClosePool:
    kind: ClassVar[str] = "close"
    pool_id: str


@dataclass(frozen=True)
class OpenPool:
    kind: ClassVar[str] = "open"
    pool_id: str


Command = CreatePool | Commit | CallCapital | Contribute | Distribute | ClosePool | OpenPool
COMMAND_KINDS = frozenset(
    c.kind for c in (CreatePool, Commit, CallCapital, Contribute, Distribute, ClosePool, OpenPool)
)


def _money(data: dict[str, Any], key: str) -> Decimal | None:
    return None if data.get(key) is None else Decimal(data[key])


def command_from_wire(kind: str, pool_id: str, d: dict[str, Any]) -> Command:
    """The command a ``pool-commands`` message carries; ValueError/KeyError for a broken one."""
    match kind:
        case "create_pool":
            return CreatePool(
                pool_id,
                d["name"],
                d["currency"],
                Decimal(d["target_size"]),
                Decimal(d["hard_cap"]),
                d["manager_id"],
                d.get("status") == "draft",
            )
        case "commit":
            return Commit(pool_id, d["investor_id"], Decimal(d["amount"]))
        case "capital_call":
            return CallCapital(
                pool_id, d["call_id"], d["due_date"], _money(d, "percent"), _money(d, "amount")
            )
        case "contribute":
            return Contribute(pool_id, d["investor_id"], d["call_id"], Decimal(d["amount"]))
        case "distribute":
            return Distribute(pool_id, d["distribution_id"], Decimal(d["amount"]))
        case "close":
            return ClosePool(pool_id)
        case "open":
            return OpenPool(pool_id)
    raise ValueError(f"unknown command type {kind!r}")

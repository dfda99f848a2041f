"""Investment pools: commands decided against a pool's state into events, events applied to state,
and the double-entry ledger lines of each event. Pure: no I/O, no clock.

Ledger sign: a debit is positive, a credit negative; every event's lines sum to zero.
Accounts, per investor ``{i}``:
  partner_commitments:{i}  credit balance, what the investor committed
  uncalled_commitments:{i} debit balance, committed and not yet called   (never negative)
  capital_receivable:{i}   debit balance, called and not yet paid        (never negative)
  cash                     debit balance, contributions received
  partner_distributions:{i} debit balance, paid out to the investor
  distributable_proceeds   credit balance, proceeds the pool distributed
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from models.allocation import CENT, allocate
from models.errors import PulseError

ZERO = Decimal("0.00")
TOTALS = ("committed", "called", "contributed", "distributed")
_CURRENCY = re.compile(r"[A-Z]{3}")


class PoolError(PulseError):
    """Base of the pool errors; each maps to one HTTP status."""

    status = 409


class PoolNotFound(PoolError):
    status = 404


class RuleViolation(PoolError):
    """A command that breaks a business rule: over the hard cap, overpayment, wrong status."""

    status = 409


class PoolStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    LIQUIDATING = "liquidating"
    WOUND_DOWN = "wound_down"


@dataclass
class Position:
    committed: Decimal = ZERO
    called: Decimal = ZERO
    contributed: Decimal = ZERO
    distributed: Decimal = ZERO

    @property
    def unfunded(self) -> Decimal:
        return self.committed - self.contributed


@dataclass
class Call:
    call_id: str
    amount: Decimal
    due_date: str
    allocations: dict[str, Decimal]
    paid: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class Pool:
    pool_id: str
    name: str
    currency: str
    target_size: Decimal
    hard_cap: Decimal
    manager_ids: list[str]
    status: PoolStatus
    seq: int = 0
    positions: dict[str, Position] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    # Running sums of the positions, kept by ``apply`` so reading them does not walk every investor.
    totals: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(TOTALS, ZERO))

    def total(self, what: str) -> Decimal:
        return self.totals[what]

    def recount(self) -> None:
        """Totals from the positions (after loading them from storage)."""
        self.totals = {
            t: sum((getattr(p, t) for p in self.positions.values()), ZERO) for t in TOTALS
        }


# Commands


@dataclass(frozen=True)
class CreatePool:
    pool_id: str
    name: str
    currency: str
    target_size: Decimal
    hard_cap: Decimal
    manager_id: str
    draft: bool = False


@dataclass(frozen=True)
class Commit:
    pool_id: str
    investor_id: str
    amount: Decimal


@dataclass(frozen=True)
class CallCapital:
    pool_id: str
    call_id: str
    due_date: str
    percent: Decimal | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class Contribute:
    pool_id: str
    investor_id: str
    call_id: str
    amount: Decimal


@dataclass(frozen=True)
class Distribute:
    pool_id: str
    distribution_id: str
    amount: Decimal


@dataclass(frozen=True)
class ClosePool:
    pool_id: str


@dataclass(frozen=True)
class OpenPool:
    pool_id: str


Command = CreatePool | Commit | CallCapital | Contribute | Distribute | ClosePool | OpenPool


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]


def _cents(amount: Decimal, what: str) -> Decimal:
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise RuleViolation(f"{what} {amount} must be a whole number of cents")
    return amount.quantize(CENT)


def _require(pool: Pool | None, pool_id: str) -> Pool:
    if pool is None:
        raise PoolNotFound(f"pool {pool_id} not found")
    return pool


def _status(pool: Pool, *allowed: PoolStatus, action: str) -> None:
    if pool.status not in allowed:
        raise RuleViolation(f"cannot {action}: pool is {pool.status}")


def decide(pool: Pool | None, command: Command) -> Event:
    """The event a command produces against ``pool``, or a PoolError saying why not."""
    if isinstance(command, CreatePool):
        if pool is not None:
            raise RuleViolation(f"pool {command.pool_id} already exists")
        if not command.name.strip():
            raise RuleViolation("name must not be empty")
        if not _CURRENCY.fullmatch(command.currency):
            raise RuleViolation(f"currency {command.currency!r} is not an ISO 4217 code")
        target, cap = (
            _cents(command.target_size, "target_size"),
            _cents(command.hard_cap, "hard_cap"),
        )
        if target <= 0 or cap < target:
            raise RuleViolation("need 0 < target_size <= hard_cap")
        status = PoolStatus.DRAFT if command.draft else PoolStatus.OPEN
        return Event(
            "pool_created",
            {
                "name": command.name.strip(),
                "currency": command.currency,
                "target_size": target,
                "hard_cap": cap,
                "manager_ids": [command.manager_id],
                "status": status.value,
            },
        )
    p = _require(pool, command.pool_id)
    if isinstance(command, OpenPool):
        _status(p, PoolStatus.DRAFT, action="open")
        return Event("pool_opened", {})
    if isinstance(command, ClosePool):
        _status(p, PoolStatus.OPEN, action="close")
        return Event("pool_closed", {})
    if isinstance(command, Commit):
        _status(p, PoolStatus.OPEN, action="take a commitment")
        amount = _cents(command.amount, "amount")
        if amount <= 0:
            raise RuleViolation("amount must be greater than 0")
        if p.total("committed") + amount > p.hard_cap:
            raise RuleViolation(
                f"commitment of {amount} would exceed the hard cap of {p.hard_cap} "
                f"({p.total('committed')} already committed)"
            )
        return Event("commitment_made", {"investor_id": command.investor_id, "amount": amount})
    if isinstance(command, CallCapital):
        _status(p, PoolStatus.OPEN, PoolStatus.CLOSED, action="call capital")
        return _call(p, command)
    if isinstance(command, Contribute):
        _status(
            p,
            PoolStatus.OPEN,
            PoolStatus.CLOSED,
            PoolStatus.LIQUIDATING,
            action="take a contribution",
        )
        call = p.calls.get(command.call_id)
        if call is None:
            raise PoolNotFound(f"capital call {command.call_id} not found in pool {p.pool_id}")
        amount = _cents(command.amount, "amount")
        if amount <= 0:
            raise RuleViolation("amount must be greater than 0")
        due = call.allocations.get(command.investor_id, ZERO) - call.paid.get(
            command.investor_id, ZERO
        )
        if amount > due:
            raise RuleViolation(
                f"payment of {amount} exceeds the {due} called and unpaid for investor {command.investor_id}"
            )
        return Event(
            "contribution_received",
            {"investor_id": command.investor_id, "call_id": command.call_id, "amount": amount},
        )
    if isinstance(command, Distribute):
        _status(p, PoolStatus.OPEN, PoolStatus.CLOSED, PoolStatus.LIQUIDATING, action="distribute")
        amount = _cents(command.amount, "amount")
        if amount <= 0:
            raise RuleViolation("amount must be greater than 0")
        contributed = {i: pos.contributed for i, pos in sorted(p.positions.items())}
        if sum(contributed.values(), ZERO) <= 0:
            raise RuleViolation(
                "nothing has been contributed yet: there is no one to distribute to"
            )
        parts = {i: a for i, a in allocate(amount, contributed).items() if a > 0}
        return Event(
            "distribution_made",
            {"distribution_id": command.distribution_id, "amount": amount, "allocations": parts},
        )
    raise TypeError(f"unknown command {command!r}")


def _call(p: Pool, command: CallCapital) -> Event:
    if (command.percent is None) == (command.amount is None):
        raise RuleViolation("give exactly one of percent and amount")
    committed = p.total("committed")
    if command.percent is not None:
        if not (0 < command.percent <= 100):
            raise RuleViolation("percent must be greater than 0 and at most 100")
        total = (committed * command.percent / 100).quantize(CENT, rounding=ROUND_HALF_EVEN)
    else:
        assert command.amount is not None
        total = _cents(command.amount, "amount")
    if total <= 0:
        raise RuleViolation("the call amounts to nothing")
    uncalled = {i: pos.committed - pos.called for i, pos in sorted(p.positions.items())}
    if total > sum(uncalled.values(), ZERO):
        raise RuleViolation(
            f"call of {total} exceeds the {sum(uncalled.values(), ZERO)} of uncalled commitments"
        )
    if total == sum(uncalled.values(), ZERO):
        parts = uncalled  # the last call takes exactly what is left
    else:
        parts = allocate(total, {i: pos.committed for i, pos in sorted(p.positions.items())})
    for investor, part in parts.items():
        if part > uncalled[investor]:
            raise RuleViolation(f"the call would exceed investor {investor}'s uncalled commitment")
    data: dict[str, Any] = {
        "call_id": command.call_id,
        "amount": total,
        "due_date": command.due_date,
        "allocations": {i: a for i, a in parts.items() if a > 0},
    }
    if command.percent is not None:
        data["percent"] = command.percent
    return Event("capital_called", data)


def _d(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def apply(pool: Pool | None, event: Event, pool_id: str) -> Pool:
    """The pool after ``event`` (a new object; ``pool`` is not changed)."""
    d = event.data
    if event.type == "pool_created":
        return Pool(
            pool_id,
            d["name"],
            d["currency"],
            _d(d["target_size"]),
            _d(d["hard_cap"]),
            list(d["manager_ids"]),
            PoolStatus(d["status"]),
            seq=1,
        )
    assert pool is not None
    p = replace(
        pool,
        seq=pool.seq + 1,
        positions=dict(pool.positions),
        calls=dict(pool.calls),
        totals=dict(pool.totals),
    )

    def position(investor: str) -> Position:
        pos = p.positions.get(investor, Position())
        p.positions[investor] = pos = replace(pos)
        return pos

    def add(investor: str, what: str, amount: Decimal) -> None:
        pos = position(investor)
        setattr(pos, what, getattr(pos, what) + amount)
        p.totals[what] += amount

    if event.type == "pool_opened":
        p.status = PoolStatus.OPEN
    elif event.type == "pool_closed":
        p.status = PoolStatus.CLOSED
    elif event.type == "commitment_made":
        add(d["investor_id"], "committed", _d(d["amount"]))
    elif event.type == "capital_called":
        allocations = {i: _d(a) for i, a in d["allocations"].items()}
        for investor, amount in allocations.items():
            add(investor, "called", amount)
        p.calls[d["call_id"]] = Call(d["call_id"], _d(d["amount"]), d["due_date"], allocations)
    elif event.type == "contribution_received":
        add(d["investor_id"], "contributed", _d(d["amount"]))
        call = p.calls[d["call_id"]]
        paid = dict(call.paid)
        paid[d["investor_id"]] = paid.get(d["investor_id"], ZERO) + _d(d["amount"])
        p.calls[d["call_id"]] = replace(call, paid=paid)
    elif event.type == "distribution_made":
        for investor, amount in d["allocations"].items():
            add(investor, "distributed", _d(amount))
    else:
        raise ValueError(f"unknown event type {event.type}")
    return p


def ledger_lines(event: Event) -> list[tuple[str, Decimal]]:
    """Double-entry lines of an event: (account, amount), debit positive; they sum to zero."""
    d = event.data
    if event.type == "commitment_made":
        i, a = d["investor_id"], _d(d["amount"])
        return [(f"uncalled_commitments:{i}", a), (f"partner_commitments:{i}", -a)]
    if event.type == "capital_called":
        lines = []
        for i, a in sorted(d["allocations"].items()):
            lines += [(f"capital_receivable:{i}", _d(a)), (f"uncalled_commitments:{i}", -_d(a))]
        return lines
    if event.type == "contribution_received":
        i, a = d["investor_id"], _d(d["amount"])
        return [("cash", a), (f"capital_receivable:{i}", -a)]
    if event.type == "distribution_made":
        lines = [(f"partner_distributions:{i}", _d(a)) for i, a in sorted(d["allocations"].items())]
        return [*lines, ("distributable_proceeds", -_d(d["amount"]))]
    return []


def event_json(event: Event) -> dict[str, Any]:
    """The event's data with money as decimal strings."""

    def convert(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return convert(event.data)

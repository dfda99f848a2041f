"""Deciding a command against a pool's state: the event it produces, or a PoolError saying why not."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

from models.allocation import CENT, allocate
from models.pools.commands import (
    CallCapital,
    ClosePool,
    Command,
    Commit,
    Contribute,
    CreatePool,
    Distribute,
    OpenPool,
)
from models.pools.events import (
    CapitalCalled,
    CommitmentMade,
    ContributionReceived,
    DistributionMade,
    Event,
    PoolClosed,
    PoolCreated,
    PoolOpened,
)
from models.pools.state import ZERO, Pool, PoolNotFound, PoolStatus, RuleViolation

_CURRENCY = re.compile(r"[A-Z]{3}")
_S = PoolStatus


def decide(pool: Pool | None, command: Command) -> Event:
    if isinstance(command, CreatePool):
        return _create(pool, command)
    p = _require(pool, command.pool_id)
    match command:
        case OpenPool():
            _status(p, _S.DRAFT, action="open")
            return PoolOpened()
        case ClosePool():
            _status(p, _S.OPEN, action="close")
            return PoolClosed()
        case Commit():
            return _commit(p, command)
        case CallCapital():
            _status(p, _S.OPEN, _S.CLOSED, action="call capital")
            return _call(p, command)
        case Contribute():
            return _contribute(p, command)
        case Distribute():
            return _distribute(p, command)
    raise TypeError(f"unknown command {command!r}")


def _cents(amount: Decimal, what: str) -> Decimal:
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise RuleViolation(f"{what} {amount} must be a whole number of cents")
    return amount.quantize(CENT)


def _positive_cents(amount: Decimal) -> Decimal:
    amount = _cents(amount, "amount")
    if amount <= 0:
        raise RuleViolation("amount must be greater than 0")
    return amount


def _require(pool: Pool | None, pool_id: str) -> Pool:
    if pool is None:
        raise PoolNotFound(f"pool {pool_id} not found")
    return pool


def _status(pool: Pool, *allowed: PoolStatus, action: str) -> None:
    if pool.status not in allowed:
        raise RuleViolation(f"cannot {action}: pool is {pool.status}")


def _create(pool: Pool | None, command: CreatePool) -> PoolCreated:
    if pool is not None:
        raise RuleViolation(f"pool {command.pool_id} already exists")
    if not command.name.strip():
        raise RuleViolation("name must not be empty")
    if not _CURRENCY.fullmatch(command.currency):
        raise RuleViolation(f"currency {command.currency!r} is not an ISO 4217 code")
    target = _cents(command.target_size, "target_size")
    cap = _cents(command.hard_cap, "hard_cap")
    if target <= 0 or cap < target:
        raise RuleViolation("need 0 < target_size <= hard_cap")
    return PoolCreated(
        name=command.name.strip(),
        currency=command.currency,
        target_size=target,
        hard_cap=cap,
        manager_ids=(command.manager_id,),
        status=_S.DRAFT if command.draft else _S.OPEN,
    )


def _commit(p: Pool, command: Commit) -> CommitmentMade:
    _status(p, _S.OPEN, action="take a commitment")
    amount = _positive_cents(command.amount)
    if p.total("committed") + amount > p.hard_cap:
        raise RuleViolation(
            f"commitment of {amount} would exceed the hard cap of {p.hard_cap} "
            f"({p.total('committed')} already committed)"
        )
    return CommitmentMade(command.investor_id, amount)


def _call(p: Pool, command: CallCapital) -> CapitalCalled:
    total = _call_total(p, command)
    uncalled = {i: pos.committed - pos.called for i, pos in sorted(p.positions.items())}
    left = sum(uncalled.values(), ZERO)
    if total > left:
        raise RuleViolation(f"call of {total} exceeds the {left} of uncalled commitments")
    if total == left:
        parts = uncalled  # the last call takes exactly what is left
    else:
        parts = allocate(total, {i: pos.committed for i, pos in sorted(p.positions.items())})
    for investor, part in parts.items():
        if part > uncalled[investor]:
            raise RuleViolation(f"the call would exceed investor {investor}'s uncalled commitment")
    return CapitalCalled(
        call_id=command.call_id,
        amount=total,
        due_date=command.due_date,
        allocations={i: a for i, a in parts.items() if a > 0},
        percent=command.percent,
    )


def _call_total(p: Pool, command: CallCapital) -> Decimal:
    if (command.percent is None) == (command.amount is None):
        raise RuleViolation("give exactly one of percent and amount")
    if command.percent is not None:
        if not (0 < command.percent <= 100):
            raise RuleViolation("percent must be greater than 0 and at most 100")
        committed = p.total("committed")
        total = (committed * command.percent / 100).quantize(CENT, rounding=ROUND_HALF_EVEN)
    else:
        assert command.amount is not None
        total = _cents(command.amount, "amount")
    if total <= 0:
        raise RuleViolation("the call amounts to nothing")
    return total


def _contribute(p: Pool, command: Contribute) -> ContributionReceived:
    _status(p, _S.OPEN, _S.CLOSED, _S.LIQUIDATING, action="take a contribution")
    call = p.calls.get(command.call_id)
    if call is None:
        raise PoolNotFound(f"capital call {command.call_id} not found in pool {p.pool_id}")
    amount = _positive_cents(command.amount)
    investor = command.investor_id
    due = call.allocations.get(investor, ZERO) - call.paid.get(investor, ZERO)
    if amount > due:
        raise RuleViolation(
            f"payment of {amount} exceeds the {due} called and unpaid for investor {investor}"
        )
    return ContributionReceived(investor, command.call_id, amount)


def _distribute(p: Pool, command: Distribute) -> DistributionMade:
    _status(p, _S.OPEN, _S.CLOSED, _S.LIQUIDATING, action="distribute")
    amount = _positive_cents(command.amount)
    contributed = {i: pos.contributed for i, pos in sorted(p.positions.items())}
    if sum(contributed.values(), ZERO) <= 0:
        raise RuleViolation("nothing has been contributed yet: there is no one to distribute to")
    parts = {i: a for i, a in allocate(amount, contributed).items() if a > 0}
    return DistributionMade(command.distribution_id, amount, parts)

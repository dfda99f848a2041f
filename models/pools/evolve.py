"""Applying an event to a pool's state, and the double-entry ledger lines of each event.

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

from dataclasses import replace
from decimal import Decimal

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
from models.pools.state import ZERO, Call, Pool, PoolStatus, Position


def apply(pool: Pool | None, event: Event, pool_id: str) -> Pool:
    """The pool after ``event`` (a new object; ``pool`` is not changed)."""
    if isinstance(event, PoolCreated):
        return Pool(
            pool_id,
            event.name,
            event.currency,
            event.target_size,
            event.hard_cap,
            list(event.manager_ids),
            event.status,
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
    match event:
        case PoolOpened():
            p.status = PoolStatus.OPEN
        case PoolClosed():
            p.status = PoolStatus.CLOSED
        case CommitmentMade(investor_id=investor, amount=amount):
            _add(p, investor, "committed", amount)
        case CapitalCalled():
            for investor, amount in event.allocations.items():
                _add(p, investor, "called", amount)
            p.calls[event.call_id] = Call(
                event.call_id, event.amount, event.due_date, dict(event.allocations)
            )
        case ContributionReceived(investor_id=investor, call_id=call_id, amount=amount):
            _add(p, investor, "contributed", amount)
            call = p.calls[call_id]
            paid = dict(call.paid)
            paid[investor] = paid.get(investor, ZERO) + amount
            p.calls[call_id] = replace(call, paid=paid)
        case DistributionMade():
            for investor, amount in event.allocations.items():
                _add(p, investor, "distributed", amount)
    return p


def _add(p: Pool, investor: str, what: str, amount: Decimal) -> None:
    position = replace(p.positions.get(investor, Position()))
    p.positions[investor] = position
    setattr(position, what, getattr(position, what) + amount)
    p.totals[what] += amount


def ledger_lines(event: Event) -> list[tuple[str, Decimal]]:
    """Double-entry lines of an event: (account, amount), debit positive; they sum to zero."""
    match event:
        case CommitmentMade(investor_id=i, amount=a):
            return [(f"uncalled_commitments:{i}", a), (f"partner_commitments:{i}", -a)]
        case CapitalCalled():
            lines = []
            for i, a in sorted(event.allocations.items()):
                lines += [(f"capital_receivable:{i}", a), (f"uncalled_commitments:{i}", -a)]
            return lines
        case ContributionReceived(investor_id=i, amount=a):
            return [("cash", a), (f"capital_receivable:{i}", -a)]
        case DistributionMade():
            parts = sorted(event.allocations.items())
            lines = [(f"partner_distributions:{i}", a) for i, a in parts]
            return [*lines, ("distributable_proceeds", -event.amount)]
    return []


def investors_of(event: Event) -> list[str]:
    """The investors whose positions the event changes."""
    match event:
        case CommitmentMade() | ContributionReceived():
            return [event.investor_id]
        case CapitalCalled() | DistributionMade():
            return list(event.allocations)
    return []

"""A pool's state: its status, each investor's position, its capital calls, and the errors a command
can meet. Pure: no I/O, no clock, nothing of HTTP (the web edge picks a status per error type)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from models.errors import PulseError

ZERO = Decimal("0.00")
TOTALS = ("committed", "called", "contributed", "distributed")


class PoolError(PulseError):
    """Base of the reasons a pool command is refused."""


class PoolNotFound(PoolError):
    """The pool, or a capital call in it, does not exist."""


class RuleViolation(PoolError):
    """A command that breaks a business rule: over the hard cap, overpayment, wrong status."""


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

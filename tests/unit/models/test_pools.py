import copy
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from models.pools import (
    CallCapital,
    CapitalCalled,
    ClosePool,
    Commit,
    Contribute,
    CreatePool,
    Distribute,
    DistributionMade,
    Event,
    Pool,
    PoolError,
    PoolNotFound,
    PoolStatus,
    RuleViolation,
    apply,
    decide,
    event_from_json,
    event_json,
    ledger_lines,
)

D = Decimal
INVESTORS = ["inv-a", "inv-b", "inv-c", "inv-d"]
money = st.integers(min_value=1, max_value=5_000_000).map(lambda c: D(c) / 100)


def run(commands) -> tuple[Pool, list[Event]]:
    pool, events = None, []
    for command in commands:
        event = decide(pool, command)
        pool = apply(pool, event, "p1")
        events.append(event)
    assert pool is not None
    return pool, events


def test_full_life_cycle_with_the_documented_distribution():
    create = CreatePool("p1", "Fund I", "USD", D("100000.00"), D("150000.00"), "m1")
    commits = [
        Commit("p1", "a", D("12345.67")),
        Commit("p1", "b", D("23456.78")),
        Commit("p1", "c", D("34567.89")),
    ]
    call = CallCapital("p1", "call-1", "2026-04-01", percent=D(100))
    pays = [Contribute("p1", i, "call-1", a.amount) for i, a in zip("abc", commits, strict=True)]
    pool, events = run([create, *commits, call, *pays, Distribute("p1", "d1", D("100000.00"))])
    assert {i: pos.distributed for i, pos in pool.positions.items()} == {
        "a": D("17543.86"),
        "b": D("33333.33"),
        "c": D("49122.81"),
    }
    assert all(pos.unfunded == 0 for pos in pool.positions.values())
    assert [e.type for e in events][-1] == "distribution_made"


def test_business_rules_say_why():
    pool, _ = run(
        [
            CreatePool("p1", "F", "USD", D("100.00"), D("100.00"), "m1"),
            Commit("p1", "a", D("60.00")),
        ]
    )
    with pytest.raises(RuleViolation, match="exceed the hard cap"):
        decide(pool, Commit("p1", "b", D("40.01")))
    with pytest.raises(RuleViolation, match="exactly one of percent and amount"):
        decide(pool, CallCapital("p1", "c", "2026-01-01"))
    pool = apply(pool, decide(pool, CallCapital("p1", "c1", "2026-01-01", amount=D("30.00"))), "p1")
    with pytest.raises(RuleViolation, match=r"exceeds the 30\.00 called and unpaid"):
        decide(pool, Contribute("p1", "a", "c1", D("30.01")))
    with pytest.raises(PoolNotFound):
        decide(pool, Contribute("p1", "a", "nope", D("1.00")))
    with pytest.raises(PoolNotFound):
        decide(None, Commit("p9", "a", D("1.00")))
    with pytest.raises(RuleViolation, match="nothing has been contributed"):
        decide(pool, Distribute("p1", "d", D("1.00")))
    pool = apply(pool, decide(pool, ClosePool("p1")), "p1")
    assert pool.status is PoolStatus.CLOSED
    with pytest.raises(RuleViolation, match="pool is closed"):
        decide(pool, Commit("p1", "b", D("1.00")))


class PoolMachine(RuleBasedStateMachine):
    """Random command sequences against the pure core; every invariant holds after every step."""

    @initialize(cap=money, draft=st.just(False))
    def create(self, cap, draft):
        self.events: list[Event] = []
        self.pool: Pool | None = None
        self.calls = 0
        self.apply(CreatePool("p1", "Fund", "USD", cap, cap, "m1", draft))

    def apply(self, command) -> None:
        before = copy.deepcopy(self.pool)
        try:
            event = decide(self.pool, command)
        except PoolError:
            assert self.pool == before  # a refused command changes nothing
            return
        assert self.pool == before  # deciding never changes the state it decides on
        self.pool = apply(self.pool, event, "p1")
        self.events.append(event)

    @rule(investor=st.sampled_from(INVESTORS), amount=money)
    def commit(self, investor, amount):
        self.apply(Commit("p1", investor, amount))

    @rule(percent=st.integers(min_value=1, max_value=100))
    def call_percent(self, percent):
        self.calls += 1
        self.apply(CallCapital("p1", f"c{self.calls}", "2026-06-30", percent=D(percent)))

    @rule(amount=money)
    def call_amount(self, amount):
        self.calls += 1
        self.apply(CallCapital("p1", f"c{self.calls}", "2026-06-30", amount=amount))

    @rule(
        investor=st.sampled_from(INVESTORS),
        call=st.integers(min_value=1, max_value=8),
        share=st.integers(1, 100),
    )
    def contribute(self, investor, call, share):
        assert self.pool is not None
        target = self.pool.calls.get(f"c{call}")
        due = (
            D(0)
            if target is None
            else target.allocations.get(investor, D(0)) - target.paid.get(investor, D(0))
        )
        amount = max(D("0.01"), (due * share / 100).quantize(D("0.01")))
        self.apply(Contribute("p1", investor, f"c{call}", amount))

    @rule(amount=money)
    def distribute(self, amount):
        self.apply(Distribute("p1", f"d{len(self.events)}", amount))

    @rule()
    def close(self):
        self.apply(ClosePool("p1"))

    @invariant()
    def ledger_balances(self):
        balances: dict[str, D] = defaultdict(D)
        for event in self.events:
            lines = ledger_lines(event)
            assert sum((a for _, a in lines), D(0)) == 0  # every event balances
            for account, amount in lines:
                balances[account] += amount
        assert sum(balances.values(), D(0)) == 0
        assert self.pool is not None
        for investor, pos in self.pool.positions.items():
            assert balances[f"uncalled_commitments:{investor}"] == pos.committed - pos.called >= 0
            assert balances[f"capital_receivable:{investor}"] == pos.called - pos.contributed >= 0
            assert -balances[f"partner_commitments:{investor}"] == pos.committed
            assert balances[f"partner_distributions:{investor}"] == pos.distributed

    @invariant()
    def positions_and_cap(self):
        assert self.pool is not None
        for pos in self.pool.positions.values():
            assert 0 <= pos.contributed <= pos.called <= pos.committed
        assert self.pool.total("committed") <= self.pool.hard_cap

    @invariant()
    def allocations_sum_exactly(self):
        for event in self.events:
            if isinstance(event, CapitalCalled | DistributionMade):
                assert sum(event.allocations.values(), D(0)) == event.amount
        assert self.pool is not None
        for call in self.pool.calls.values():
            for investor, paid in call.paid.items():
                assert paid <= call.allocations[investor]

    @invariant()
    def running_totals_equal_the_sums(self):
        assert self.pool is not None
        kept = dict(self.pool.totals)
        self.pool.recount()
        assert self.pool.totals == kept

    @invariant()
    def events_read_back_from_the_log_are_the_same(self):
        for event in self.events:
            assert event_from_json(event.type, event_json(event)) == event

    @invariant()
    def positions_equal_the_sums_of_the_events(self):
        """The projection against a second computation that shares no code with ``apply``."""
        sums: dict[str, dict[str, D]] = defaultdict(lambda: defaultdict(D))
        for event in self.events:
            data = event_json(event)  # the published payload, read as a consumer would
            if event.type == "commitment_made":
                sums[data["investor_id"]]["committed"] += D(data["amount"])
            elif event.type == "capital_called":
                for investor, amount in data["allocations"].items():
                    sums[investor]["called"] += D(amount)
            elif event.type == "contribution_received":
                sums[data["investor_id"]]["contributed"] += D(data["amount"])
            elif event.type == "distribution_made":
                for investor, amount in data["allocations"].items():
                    sums[investor]["distributed"] += D(amount)
        assert self.pool is not None
        for investor, pos in self.pool.positions.items():
            got = (pos.committed, pos.called, pos.contributed, pos.distributed)
            want = tuple(
                sums[investor][k] for k in ("committed", "called", "contributed", "distributed")
            )
            assert got == want, investor


TestPoolInvariants = PoolMachine.TestCase
TestPoolInvariants.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)

"""Property: on any small stream and any settings, the live rule (with its quick bounds and skips)
raises exactly the spikes of the independent brute-force oracle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

from models.anomaly import AlertKind, SyndicateRules
from models.backtest import replay
from pipeline.devtools import oracle
from tests.unit.models.test_backtest import transactions

T0 = datetime(2026, 3, 1, tzinfo=UTC)

# A syndicate's life in seconds between events: an hour and a half at a steady pace, a burst, the
# steady pace again, and perhaps a silence long enough to start afresh followed by another burst.
life = st.builds(
    lambda pace, burst, silence, reopening: (
        [pace] * (5_400 // pace) + burst + [pace] * 20 + ([silence, *reopening] if silence else [])
    ),
    pace=st.integers(15, 150),
    burst=st.lists(st.integers(0, 9), min_size=3, max_size=60),
    silence=st.sampled_from([0, 3_900, 3_901, 5_000]),
    reopening=st.lists(st.integers(0, 30), min_size=0, max_size=30),
)


@settings(max_examples=40, deadline=None)
@given(
    first=life,
    second=life,
    multiplier=st.sampled_from(["0.5", "1", "3", "10", "12.5"]),
    min_count=st.sampled_from([1, 3, 5]),
    evidence=st.sampled_from(["2", "1000", "1000000"]),
)
def test_the_rule_raises_exactly_the_oracles_spikes(first, second, multiplier, min_count, evidence):
    records = []
    for syndicate, steps in (("syn-a", first), ("syn-b", second)):
        moment = T0 + timedelta(hours=1, seconds=sum(steps) % 7)
        for n, step in enumerate(steps):
            moment += timedelta(seconds=step)
            records.append(
                {
                    "transaction_id": f"{syndicate}-{n}",
                    "investor_id": "inv-1",
                    "syndicate_id": syndicate,
                    "transaction_amount": "100.00",
                    "transaction_date": moment.isoformat(),
                }
            )
    records.sort(key=lambda r: r["transaction_date"])
    rules = SyndicateRules(
        Decimal("1e12"), Decimal(multiplier), min_count, spike_evidence=Decimal(evidence)
    )
    raised = replay(
        transactions(records), lambda _: rules, 120 * 1_000_000, T0, T0 + timedelta(days=30)
    )
    found = {
        ("spike", a.syndicate_id, a.transaction_id) for a in raised if a.kind is AlertKind.SPIKE
    }
    expected = oracle.expected_alerts(
        records, Decimal("1e12"), Decimal(multiplier), min_count, evidence=Decimal(evidence)
    )
    event("spikes" if found else "no spike")
    assert found == {a for a in expected if a[0] == "spike"}

"""The backtest's replay agrees with the independent oracle, with and without candidate settings,
and reports only the range asked for while earlier events still move the windows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models.anomaly import AlertKind, InvalidRule, SyndicateRules
from models.backtest import Difference, Overrides, compare, replay
from models.transaction import Transaction
from pipeline.devtools import oracle

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DEFAULTS = SyndicateRules(Decimal("10000.00"), Decimal(10), 5)
LATENESS = 120 * 1_000_000


def stream(seed: int = 3) -> list[dict]:
    """Two hours of traffic in 6 syndicates, a burst in two of them, some late arrivals."""
    rng = random.Random(seed)
    out = []
    for s in range(6):
        moment, n = T0, 0
        while moment < T0 + timedelta(hours=2):
            amount = "12000.00" if rng.random() < 0.01 else f"{rng.randint(100, 9000)}.00"
            out.append(
                {
                    "transaction_id": f"s{s}-{n}",
                    "investor_id": f"inv-{rng.randint(1, 9)}",
                    "syndicate_id": f"syn-{s}",
                    "transaction_amount": amount,
                    "transaction_date": moment.isoformat(),
                }
            )
            n += 1
            burst = s in (1, 4) and T0 + timedelta(minutes=80) <= moment < T0 + timedelta(
                minutes=84
            )
            moment += timedelta(seconds=rng.expovariate(1 / 2 if burst else 1 / 40))
    out.sort(key=lambda r: r["transaction_date"])
    # Arrivals out of order: some minutes late (not counted), some within the allowed lateness.
    for i in range(0, len(out) - 40, 97):
        out[i], out[i + 30] = out[i + 30], out[i]
    return out


def transactions(records: list[dict]) -> list[Transaction]:
    return [
        Transaction(
            r["transaction_id"],
            r["investor_id"],
            r["syndicate_id"],
            Decimal(r["transaction_amount"]),
            datetime.fromisoformat(r["transaction_date"]),
        )
        for r in records
    ]


def keys(alerts: list) -> set[tuple[str, str, str]]:
    return {(a.kind.value, a.syndicate_id, a.transaction_id) for a in alerts}


def in_range(records: list[dict], found: set, start: datetime, end: datetime) -> set:
    dates = {r["transaction_id"]: datetime.fromisoformat(r["transaction_date"]) for r in records}
    return {k for k in found if start <= dates[k[2]] < end}


def test_the_replay_is_the_oracle_over_the_whole_history_and_any_range() -> None:
    records = stream()
    expected = oracle.expected_alerts(records)
    assert {k for k, _, _ in expected} == {"spike", "large_transaction"}
    everything = replay(
        transactions(records), lambda s: DEFAULTS, LATENESS, T0, T0 + timedelta(days=1)
    )
    assert keys(everything) == expected
    # A range starting inside a burst: the windows reach back before it, the alerts do not.
    start, end = T0 + timedelta(minutes=82), T0 + timedelta(minutes=100)
    part = replay(transactions(records), lambda s: DEFAULTS, LATENESS, start, end)
    assert keys(part) == in_range(records, expected, start, end)
    assert {a.alert_id for a in part} <= {a.alert_id for a in everything}
    assert all(start <= a.event_time < end for a in part)


def test_candidate_settings_change_the_alerts_as_the_oracle_says() -> None:
    records = stream()
    candidate = Overrides(Decimal("8000.00"), Decimal(4), 3)
    found = replay(
        transactions(records),
        lambda s: candidate.apply(DEFAULTS),
        LATENESS,
        T0,
        T0 + timedelta(days=1),
    )
    expected = oracle.expected_alerts(records, Decimal("8000.00"), Decimal(4), 3)
    assert keys(found) == expected
    assert expected != oracle.expected_alerts(records)
    # Only what is overridden changes; the rest of the syndicate's rules stay its own.
    assert Overrides(spike_min_count=2).apply(DEFAULTS) == SyndicateRules(
        Decimal("10000.00"), Decimal(10), 2
    )


def test_the_comparison_counts_what_is_added_and_removed() -> None:
    records = stream()
    found = replay(transactions(records), lambda s: DEFAULTS, LATENESS, T0, T0 + timedelta(days=1))
    live = [(str(a.alert_id), a.kind.value, a.syndicate_id) for a in found]
    assert all(d.added == d.removed == 0 and d.live == d.candidate for d in compare(live, found))
    spike = next(a for a in found if a.kind is AlertKind.SPIKE)
    fewer = [a for a in found if a is not spike]
    diff = {(d.syndicate_id, d.kind): d for d in compare(live, fewer)}
    mine = diff[(spike.syndicate_id, "spike")]
    assert (mine.added, mine.removed, mine.live - mine.candidate) == (0, 1, 1)
    assert compare([], []) == []
    assert compare([("x", "spike", "syn-9")], []) == [Difference("syn-9", "spike", 1, 0, 0, 1)]


def test_candidate_settings_are_read_as_rules_or_refused_by_name() -> None:
    assert Overrides.parse("8000.00", "4.5", "3") == Overrides(
        Decimal("8000.00"), Decimal("4.5"), 3
    )
    assert Overrides.parse(None, None, None) == Overrides()
    cli = lambda field: "--" + field.replace("_", "-")  # noqa: E731
    for args, named in (
        (("1.005", None, None), "--threshold"),
        ((None, "abc", None), "--spike-multiplier"),
        ((None, "0", None), "--spike-multiplier"),
        ((None, "1e9", None), "--spike-multiplier"),
        ((None, None, "0"), "--spike-min-count"),
        ((None, None, "2.5"), "--spike-min-count"),
    ):
        with pytest.raises(InvalidRule, match=named):
            Overrides.parse(*args, label=cli)

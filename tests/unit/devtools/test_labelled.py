"""The labelled streams are reproducible and honest about their episodes, and the scorer counts
true and false alerts, found bursts and delays as the issue defines them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from pipeline.devtools.labelled import MINUTE, Episode, StreamSpec, generate, score

T = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BURST = Episode("syn-1", "burst", T, T + timedelta(minutes=4), True, carry=30)
SMALL = Episode("syn-2", "burst", T, T + timedelta(minutes=4), True, carry=3)
BUMP = Episode(
    "syn-1", "bump", T + timedelta(hours=5), T + timedelta(hours=5, minutes=10), False, 40
)


def test_a_stream_is_the_same_for_a_seed_and_its_episodes_are_where_it_says():
    spec = StreamSpec(syndicates=12, days=0.5, bursts=4, bumps=3, ramps=1, seed=3)
    first, again = generate(spec), generate(spec)
    assert [t.transaction_date for t in first.transactions] == [
        t.transaction_date for t in again.transactions
    ]
    assert sorted(e.kind for e in first.episodes) == ["bump"] * 3 + ["burst"] * 4 + ["ramp"]
    times = [t.transaction_date for t in first.transactions]
    assert times == sorted(times)
    for e in first.episodes:
        inside = [
            t
            for t in first.transactions
            if t.syndicate_id == e.syndicate_id and e.start <= t.transaction_date < e.end
        ]
        assert len(inside) == e.carry
        assert e.start >= spec.start + timedelta(hours=2)  # an hour of history before each
    assert {e.must_alert for e in first.episodes if e.kind == "burst"} == {True}
    assert {e.must_alert for e in first.episodes if e.kind != "burst"} == {False}


def test_alerts_in_a_burst_or_within_five_minutes_after_are_true_and_others_false():
    alerts = [
        ("syn-1", T + timedelta(minutes=2)),  # in the burst: found, 120 s after its start
        ("syn-1", T + timedelta(minutes=1)),  # earlier: the delay is the first alert's
        ("syn-1", T + timedelta(minutes=8, seconds=59)),  # within 5 minutes after its end
        ("syn-1", T + timedelta(minutes=9, seconds=1)),  # after: false
        ("syn-1", T + timedelta(hours=5, minutes=3)),  # in a bump: false
        ("syn-3", T + timedelta(minutes=2)),  # another syndicate's burst time: false
        ("syn-2", T + timedelta(minutes=1)),  # a true alert for a burst too small to count
    ]
    result = score(alerts, [BURST, SMALL, BUMP], syndicate_days=10)
    assert (result.alerts, result.false_alerts) == (7, 3)
    assert (result.bursts_found, result.bursts_countable) == (1, 1)
    assert result.delays == [60.0]
    assert result.precision == 4 / 7
    assert result.recall == 1.0
    assert result.false_per_syndicate_day == 0.3


def test_no_alerts_finds_nothing_and_raises_nothing_false():
    result = score([], [BURST, BUMP], syndicate_days=1)
    assert (result.precision, result.recall, result.median_delay) == (1.0, 0.0, None)


def test_the_varied_stream_has_office_hours_new_syndicates_and_bursts_of_several_lengths():
    spec = StreamSpec.varied(seed=5)
    spec = StreamSpec(**{**spec.__dict__, "syndicates": 40, "days": 2.0, "bursts": 20})
    stream = generate(spec)
    by_syndicate: dict[str, list[datetime]] = {}
    for t in stream.transactions:
        by_syndicate.setdefault(t.syndicate_id, []).append(t.transaction_date)
    # Office hours: some syndicates have a silence of more than 12 hours every day.
    silent = [
        s
        for s, times in by_syndicate.items()
        if max(b - a for a, b in itertools.pairwise(times)) > timedelta(hours=12)
    ]
    assert silent
    # New syndicates: some begin hours after the stream does, and their episodes after that.
    late = {s for s, times in by_syndicate.items() if times[0] > spec.start + timedelta(hours=3)}
    assert late
    for e in stream.episodes:
        if e.syndicate_id in late and e.syndicate_id not in silent:  # open round the clock
            assert e.start >= by_syndicate[e.syndicate_id][0] + timedelta(hours=2) - MINUTE
    lengths = {(e.end - e.start) // timedelta(minutes=1) for e in stream.episodes if e.must_alert}
    assert min(lengths) < 4 < max(lengths)
    assert lengths <= set(range(2, 11))


def test_the_issues_stream_is_unchanged_by_the_other_kinds():
    spec = StreamSpec(syndicates=8, days=0.25, bursts=2, bumps=1, ramps=0, seed=9)
    plain = generate(spec)
    assert spec.office_share == spec.new_share == 0
    assert {t.transaction_date.date() for t in plain.transactions} == {spec.start.date()}
    assert len({t.syndicate_id for t in plain.transactions}) == 8

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models.anomaly import (
    MINUTE,
    AlertKind,
    PartitionWindows,
    SyndicateRules,
    SyndicateWindow,
    large_transaction,
    read_windows,
    to_micros,
)
from models.transaction import Transaction

T0 = datetime(2026, 3, 1, tzinfo=UTC)
RULES = SyndicateRules(
    threshold=Decimal("10000.00"), spike_multiplier=Decimal(10), spike_min_count=5
)


def tx(n: int, at: datetime, amount: str = "100.00", syndicate: str = "syn-1") -> Transaction:
    return Transaction(f"t{n}", "inv-1", syndicate, Decimal(amount), at)


class Feed:
    """Feeds one syndicate's events through a partition's windows and collects spike alerts."""

    def __init__(self, rules: SyndicateRules = RULES, lateness_minutes: int = 2) -> None:
        self.partition = PartitionWindows(lateness=lateness_minutes * MINUTE)
        self.rules = rules
        self.n = 0
        self.alerts = []
        self.late = []

    def at(self, moment: datetime, syndicate: str = "syn-1") -> None:
        self.n += 1
        window = self.partition.syndicates.setdefault(syndicate, SyndicateWindow())
        counted, alert = self.partition.observe(
            tx(self.n, moment, syndicate=syndicate), window, self.rules
        )
        if not counted:
            self.late.append(self.n)
        if alert:
            self.alerts.append(alert)

    def every(self, start: datetime, seconds: float, count: int) -> datetime:
        moment = start
        for _ in range(count):
            self.at(moment)
            moment += timedelta(seconds=seconds)
        return moment


# Rule 1: large transactions


def test_exactly_at_the_threshold_is_no_alert_and_one_cent_above_is_one():
    assert large_transaction(tx(1, T0, "10000.00"), RULES) is None
    alert = large_transaction(tx(2, T0, "10000.01"), RULES)
    assert alert is not None
    assert alert.kind is AlertKind.LARGE_TRANSACTION
    assert (alert.observed, alert.expected, alert.transaction_id) == (
        Decimal("10000.01"),
        Decimal("10000.00"),
        "t2",
    )
    assert alert.ratio == Decimal("1.0000")


def test_a_syndicate_threshold_overrides_the_default_and_disabled_syndicates_stay_quiet():
    own = SyndicateRules(
        threshold=Decimal("500.00"), spike_multiplier=Decimal(10), spike_min_count=5
    )
    assert large_transaction(tx(1, T0, "500.01"), own) is not None
    assert large_transaction(tx(1, T0, "500.01"), RULES) is None
    off = SyndicateRules(Decimal("500.00"), Decimal(10), 5, enabled=False)
    assert large_transaction(tx(1, T0, "999999.00"), off) is None


def test_alert_ids_are_deterministic():
    a = large_transaction(tx(7, T0, "20000.00"), RULES)
    b = large_transaction(tx(7, T0, "20000.00"), RULES)
    assert a is not None
    assert b is not None
    assert a.alert_id == b.alert_id
    assert a.alert_id != large_transaction(tx(8, T0, "20000.00"), RULES).alert_id  # type: ignore[union-attr]


# Rule 2: spikes


def test_a_burst_within_the_first_hour_fires_nothing():
    feed = Feed()
    feed.every(T0, 60, 30)  # 30 minutes of one per minute
    feed.every(T0 + timedelta(minutes=31), 1, 100)  # a huge burst, but no hour of history yet
    assert feed.alerts == []


def test_steady_traffic_with_noise_up_to_three_times_never_spikes():
    feed = Feed()
    moment = T0
    for minute in range(240):
        per_minute = 2 if minute % 7 else 6  # bursts of 3x the usual rate
        for k in range(per_minute):
            feed.at(moment + timedelta(seconds=k * 60 / per_minute))
        moment += timedelta(minutes=1)
    assert feed.alerts == []


def test_a_ten_fold_burst_fires_exactly_one_spike():
    feed = Feed()
    end = feed.every(T0, 60, 90)  # 1 per minute: baseline 5 per 5 minutes
    feed.every(end, 6, 100)  # 10 per minute for 10 minutes: 10x
    spikes = [a for a in feed.alerts if a.kind is AlertKind.SPIKE]
    assert len(spikes) == 1
    (alert,) = spikes
    assert alert.observed >= 10 * Decimal(5)  # at least 10x the 5-minute average
    assert alert.details["escalation"] is False
    assert alert.window_end == alert.event_time
    assert alert.window_start == alert.event_time - timedelta(minutes=5)


def test_escalation_when_the_rate_doubles_over_the_alerted_level():
    feed = Feed()
    end = feed.every(T0, 60, 90)
    end = feed.every(end, 6, 50)  # 10 per minute: fires
    feed.every(end, 0.5, 600)  # 120 per minute: more than double the alerted count
    spikes = [a for a in feed.alerts if a.kind is AlertKind.SPIKE]
    assert len(spikes) >= 2
    assert spikes[0].details["escalation"] is False
    assert all(s.details["escalation"] is True for s in spikes[1:])
    for earlier, later in itertools.pairwise(spikes):
        assert later.observed >= 2 * earlier.observed


def test_a_new_spike_after_the_rate_fell_back_is_a_new_alert():
    feed = Feed()
    end = feed.every(T0, 60, 90)
    end = feed.every(end, 6, 60)  # spike 1
    end = feed.every(end + timedelta(minutes=1), 120, 60)  # two hours of calm: 0.5 per minute
    feed.every(end, 3, 60)  # spike 2: 20 per minute over a baseline of 2.5 per 5 minutes
    spikes = [a for a in feed.alerts if a.kind is AlertKind.SPIKE]
    # Spike 2 fires at 25 (10 x 2.5), then escalates once when its ramp reaches 50.
    assert [(s.details["escalation"], int(s.observed)) for s in spikes[1:]] == [
        (False, 25),
        (True, 50),
    ]
    assert not spikes[0].details["escalation"]
    assert spikes[1].event_time > end


def test_minimum_count_guards_quiet_syndicates():
    feed = Feed()
    feed.at(T0)
    feed.at(T0 + timedelta(minutes=61))
    feed.at(T0 + timedelta(minutes=62))
    feed.at(T0 + timedelta(minutes=63))
    feed.at(
        T0 + timedelta(minutes=64)
    )  # 4 in 5 minutes vs a baseline of 1/12: 48x, but fewer than 5
    assert feed.alerts == []
    feed.at(T0 + timedelta(minutes=64, seconds=30))  # the fifth
    assert len(feed.alerts) == 1


@pytest.mark.parametrize(
    ("offset_seconds", "current", "baseline"),
    [
        (0, 1, 0),  # at t itself: in the current window
        (-300, 0, 1),  # exactly t - 5 min: not current (open bound), baseline (closed bound)
        (-299.999999, 1, 0),  # just inside the current window
        (-3900, 0, 0),  # exactly t - 65 min: outside the baseline (open bound)
        (-3899.999999, 0, 1),  # just inside the baseline
    ],
)
def test_window_edges(offset_seconds, current, baseline):
    t = to_micros(T0 + timedelta(hours=3))
    window = SyndicateWindow(times=sorted([t + int(offset_seconds * 1_000_000)]), first_event=0)
    window.times.append(t + 1)  # something after t never counts
    reading = read_windows(window, t)
    assert (reading.current, reading.baseline_count) == (current, baseline)


def test_warm_up_needs_the_first_event_sixty_minutes_before():
    t = to_micros(T0 + timedelta(hours=1))
    window = SyndicateWindow(times=[], first_event=to_micros(T0))
    assert read_windows(window, t).warm
    window.first_event += 1
    assert not read_windows(window, t).warm


def test_late_events_are_not_counted_in_windows():
    feed = Feed(lateness_minutes=2)
    feed.at(T0 + timedelta(minutes=10))
    feed.at(T0 + timedelta(minutes=8))  # exactly 2 minutes behind: still accepted
    feed.at(T0 + timedelta(minutes=7, seconds=59))  # more than 2 minutes behind: late
    assert feed.late == [3]
    assert feed.partition.syndicates["syn-1"].times == sorted(
        to_micros(T0 + timedelta(minutes=m)) for m in (8, 10)
    )


def test_a_replay_in_the_same_order_gives_the_same_alerts():
    def run() -> list:
        feed = Feed()
        end = feed.every(T0, 45, 120)
        feed.every(end, 4, 200)
        return [a.alert_id for a in feed.alerts]

    first = run()
    assert first
    assert first == run()


def test_pruning_keeps_every_event_a_window_can_still_see():
    feed = Feed()
    feed.every(T0, 10, 3000)  # 500 minutes
    times = feed.partition.syndicates["syn-1"].times
    newest = times[-1]
    assert times[0] > newest - (65 + 2 + 1) * MINUTE  # old ones went
    assert times[0] <= newest - 65 * MINUTE  # but nothing a window can still see

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.anomaly import (
    HOUR,
    HOURS_KEPT,
    MINUTE,
    PRIOR_COUNT,
    PRIOR_SPAN,
    AlertKind,
    Baseline,
    InvalidRule,
    PartitionWindows,
    SyndicateRules,
    SyndicateWindow,
    at_this_hour,
    large_transaction,
    parse_evidence,
    recent_counts,
    to_micros,
)
from models.anomaly import baseline as baseline_of
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


def spikes_of(feed: Feed) -> list:
    return [a for a in feed.alerts if a.kind is AlertKind.SPIKE]


@pytest.mark.parametrize("per_minute", [2, 20, 600, 6000])
def test_a_syndicate_that_opens_busy_is_busy_not_spiking(per_minute):
    feed = Feed()
    feed.every(T0, 60 / per_minute, per_minute * 70)  # from its very first transaction
    assert feed.alerts == []


def test_a_burst_within_the_first_hour_is_judged_by_what_came_before_and_the_prior():
    feed = Feed()
    feed.every(T0, 60, 30)  # 30 minutes of one per minute
    feed.every(T0 + timedelta(minutes=31), 1, 100)  # then 60 a minute
    (alert,) = spikes_of(feed)
    assert alert.details["prior"] is True
    assert alert.details["baseline_count"] >= 30


def test_steady_traffic_with_noise_up_to_three_times_never_spikes():
    feed = Feed()
    moment = T0
    for minute in range(240):
        per_minute = 2 if minute % 7 else 6  # bursts of 3x the usual rate
        for k in range(per_minute):
            feed.at(moment + timedelta(seconds=k * 60 / per_minute))
        moment += timedelta(minutes=1)
    assert feed.alerts == []


def test_a_ten_fold_burst_is_caught_in_a_short_window_while_it_happens():
    feed = Feed()
    start = feed.every(T0, 20, 270)  # 3 per minute
    feed.every(start, 2, 300)  # 30 per minute for 10 minutes: 10x
    (alert,) = spikes_of(feed)
    assert alert.event_time - start <= timedelta(minutes=1)
    assert alert.window_end == alert.event_time
    assert alert.window_start == alert.event_time - timedelta(
        seconds=alert.details["window_seconds"]
    )
    usual = Decimal(alert.details["usual"])
    # Caught as the window fills: 27 where a rise to 10x gives 30 on average, and 27 or fewer
    # more than one time in three. The multiplier is judged on rates, not on one count.
    assert 9 * usual <= alert.observed < 10 * usual
    assert alert.expected == 10 * usual
    assert Decimal(alert.details["chance_log10"]) < -6  # beyond the default 1 in a million
    assert alert.details["chance"].endswith("by chance")
    assert alert.details["escalation"] is False


def test_a_four_minute_burst_the_five_minute_window_blurs_is_still_caught():
    # 11x for 4 minutes reads as under 10x over 5 minutes; the 4-minute window sees it whole.
    feed = Feed()
    start = feed.every(T0, 30, 180)  # 2 per minute
    feed.every(start, 60 / 22, 88)
    (alert,) = spikes_of(feed)
    assert alert.details["window_seconds"] < 300


def test_escalation_when_the_alerted_window_holds_twice_the_count():
    feed = Feed()
    end = feed.every(T0, 60, 90)
    end = feed.every(end, 6, 50)  # 10 per minute: fires
    feed.every(end, 0.5, 600)  # 120 per minute: more than double the alerted count
    spikes = spikes_of(feed)
    assert len(spikes) >= 2
    assert spikes[0].details["escalation"] is False
    assert all(s.details["escalation"] is True for s in spikes[1:])
    for earlier, later in itertools.pairwise(spikes):
        assert later.details["window_seconds"] == earlier.details["window_seconds"]
        assert later.observed >= 2 * earlier.observed


def test_a_new_spike_after_the_rate_fell_back_is_a_new_alert():
    feed = Feed()
    end = feed.every(T0, 60, 90)
    end = feed.every(end, 6, 60)  # spike 1
    end = feed.every(end + timedelta(minutes=1), 120, 60)  # two hours of calm: 0.5 per minute
    feed.every(end, 3, 60)  # spike 2: 20 per minute
    spikes = spikes_of(feed)
    assert len(spikes) >= 2
    assert not spikes[0].details["escalation"]
    assert not spikes[1].details["escalation"]
    assert spikes[1].event_time > end


def test_the_minimum_count_and_the_evidence_guard_quiet_syndicates():
    def quiet(rules: SyndicateRules) -> Feed:
        feed = Feed(rules)
        feed.at(T0)
        feed.at(T0 + timedelta(minutes=60))
        # Exactly 65 minutes later: an empty hour before, but not a silence that starts afresh.
        for minutes in (125.0, 125.1, 125.2, 125.3):
            feed.at(T0 + timedelta(minutes=minutes))
        return feed

    # 4 in a minute after an empty hour: evidence enough (1 in 2.8 million per 5 minutes), so only
    # the minimum count of 5 holds them back.
    assert quiet(RULES).alerts == []
    assert len(spikes_of(quiet(replace(RULES, spike_min_count=4)))) == 1
    feed = quiet(RULES)
    feed.at(T0 + timedelta(minutes=125.4))  # the fifth, all in a minute
    (alert,) = spikes_of(feed)
    assert alert.details["window_seconds"] == 60
    assert alert.details["baseline_count"] == 0
    assert alert.details["prior"] is False


def test_after_a_silence_longer_than_the_baseline_a_syndicate_is_judged_as_new():
    # Office hours: busy all morning, silent all night, busy again at nine: an opening, not a spike.
    feed = Feed()
    end = feed.every(T0, 30, 8 * 120)  # 2 a minute for 8 hours
    feed.every(end + timedelta(hours=16), 30, 120)
    assert feed.alerts == []
    assert feed.partition.syndicates["syn-1"].first_event == to_micros(end + timedelta(hours=16))


def test_a_few_transactions_in_a_slow_syndicate_are_not_evidence_of_a_spike():
    # 6 an hour, then 5 in 5 minutes: 10x the hourly average, which the old fixed-count rule
    # alerted on, but chance gives that about once in a thousand: noise, not a spike.
    feed = Feed()
    end = feed.every(T0, 600, 12)
    feed.every(end, 60, 5)
    assert feed.alerts == []


def test_the_evidence_level_is_the_syndicates_own():
    def alerts_with(evidence: Decimal) -> int:
        feed = Feed(replace(RULES, spike_evidence=evidence))
        end = feed.every(T0, 60, 90)
        end = feed.every(end, 6, 20)  # 10x for two minutes
        feed.every(end, 60, 30)
        return len(feed.alerts)

    assert alerts_with(Decimal(1_000_000)) == 1
    assert alerts_with(Decimal(10) ** 15) == 0


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
    assert recent_counts(window, t) == (current, baseline)
    assert baseline_of(window, t).count == baseline


def test_the_hour_baseline_needs_sixty_five_minutes_of_history_before_it_the_prior():
    t = to_micros(T0 + timedelta(hours=2))
    times = [t - 30 * MINUTE, t - 10 * MINUTE, t - MINUTE]
    window = SyndicateWindow(times=times, first_event=t - 65 * MINUTE)
    assert baseline_of(window, t) == Baseline(2, 60 * MINUTE, 2)
    window.first_event += 1
    # 3 in 65 minutes is slower than the prior: the prior judges it.
    assert baseline_of(window, t) == Baseline(PRIOR_COUNT, PRIOR_SPAN, 3, young=True)
    window.times = [t - 30 * MINUTE + k for k in range(100)]
    assert baseline_of(window, t) == Baseline(100, 65 * MINUTE - 1, 100, young=True)


@pytest.mark.parametrize("text", ["1", "0", "-5", "NaN", "1e16", "many"])
def test_an_evidence_level_outside_two_to_ten_to_the_fifteen_is_refused(text):
    with pytest.raises(InvalidRule):
        parse_evidence(text)


def test_evidence_levels_read_as_people_write_them():
    assert parse_evidence("1,000,000") == parse_evidence("1e6") == Decimal(1_000_000)


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


def office_days(feed: Feed, days: int, burst_on: int | None = None) -> datetime:
    """Every day a trickle at night (one every 5 minutes) and 4 a minute from 09:00 to 17:00; on
    day ``burst_on``, 60 a minute for 3 minutes at 11:00."""
    moment = T0
    for day in range(days):
        for minute in range(24 * 60):
            at = T0 + timedelta(days=day, minutes=minute)
            busy = 9 * 60 <= minute < 17 * 60
            if day == burst_on and 11 * 60 <= minute < 11 * 60 + 3:
                for k in range(60):
                    feed.at(at + timedelta(seconds=k))
            elif busy:
                for k in range(4):
                    feed.at(at + timedelta(seconds=15 * k))
            elif minute % 5 == 0:
                feed.at(at)
            moment = at
    return moment


def test_a_daily_opening_from_a_trickle_alerts_on_its_first_day_only():
    feed = Feed()
    office_days(feed, 3)
    days = {a.event_time.date() for a in spikes_of(feed)}
    # The first morning is 20x the night before and nothing says it is usual; from the second,
    # the same hour on the days before does.
    assert days == {T0.date()}


def test_a_burst_at_a_busy_hour_still_stands_out_against_the_days_before():
    feed = Feed()
    office_days(feed, 3, burst_on=2)
    on_day_three = [a for a in spikes_of(feed) if a.event_time.date() == (T0 + timedelta(2)).date()]
    (alert,) = on_day_three
    assert alert.event_time - (T0 + timedelta(days=2, hours=11)) < timedelta(minutes=1)
    assert alert.details["days_at_this_hour"] == 2
    assert Decimal(alert.details["usual_at_this_hour"]) == 4 * alert.details["window_seconds"] // 60


def opening_days(feed: Feed, days: int, opens: int, burst: int | None = None) -> None:
    """Every day 4 a minute for 8 hours from minute ``opens``, silent otherwise (longer than the
    baseline: each morning starts the syndicate's history again); on the last day, 60 a minute
    for 3 minutes from ``burst`` minutes after opening."""
    for day in range(days):
        for minute in range(opens, opens + 8 * 60):
            at = T0 + timedelta(days=day, minutes=minute)
            bursting = burst is not None and day == days - 1 and 0 <= minute - opens - burst < 3
            per_minute = 60 if bursting else 4
            for k in range(per_minute):
                feed.at(at + timedelta(seconds=k * 60 / per_minute))


@pytest.mark.parametrize("opens", [9 * 60, 9 * 60 + 58])
def test_a_syndicate_opening_for_the_day_is_busy_not_spiking(opens):
    # At 09:58 the hour it opens in held 2 minutes of trading on the days before: read alone, the
    # morning would be 30 times its usual; the next hour says what its usual is.
    feed = Feed()
    opening_days(feed, 3, opens)
    assert feed.alerts == []


def test_a_burst_minutes_after_opening_is_judged_by_the_usual_rate_at_this_hour():
    # Its own first minutes would call the burst usual; the days before know better.
    feed = Feed()
    opening_days(feed, 3, 9 * 60, burst=5)
    (alert,) = spikes_of(feed)
    burst_at = T0 + timedelta(days=2, hours=9, minutes=5)
    assert burst_at <= alert.event_time < burst_at + timedelta(minutes=1)
    assert alert.details["known_by"] == "this hour on previous days"
    assert alert.details["days_at_this_hour"] == 1  # the first day's opening hour is partial
    assert alert.details["prior"] is False


def test_the_hour_counts_keep_a_week_and_the_first_partial_hour_never_counts():
    window = SyndicateWindow()
    start = to_micros(T0 + timedelta(minutes=30))  # the first hour is half an hour
    for hour in range(24 * 9):
        window.count_hour(start + hour * HOUR)
    assert len(window.hours) == HOURS_KEPT
    t = start + (24 * 9 - 1) * HOUR
    assert at_this_hour(window, t) == Baseline(7, 7 * HOUR, 7)
    back = SyndicateWindow()  # back after a month: nothing but zeros kept before its hour
    back.count_hour(start)
    back.count_hour(start + 30 * 24 * HOUR)
    assert back.hours_from == (start + 30 * 24 * HOUR) // HOUR - HOURS_KEPT + 1
    assert back.hours == [0] * (HOURS_KEPT - 1) + [1]
    young = SyndicateWindow()
    young.count_hour(start)
    young.count_hour(start + 24 * HOUR)
    assert (
        at_this_hour(young, start + 24 * HOUR) is None
    )  # the day before is the partial first hour
    young.count_hour(start + 48 * HOUR)
    assert at_this_hour(young, start + 48 * HOUR) == Baseline(1, HOUR, 1)


def test_days_of_history_at_this_hour_give_the_evidence_for_a_small_burst_the_hour_cannot():
    def burst_after(days: int) -> list:
        feed = Feed()
        end = feed.every(T0, 300, days * 24 * 12 + 30)  # one every 5 minutes
        feed.every(end, 20, 8)  # 8 in 140 seconds: 10x and more, but only 8
        return spikes_of(feed)

    assert burst_after(0) == []  # 12 in the hour say too little of the usual rate
    (alert,) = burst_after(3)  # with the same hour on 3 days before: 1 in 2.2 million
    assert alert.details["days_at_this_hour"] == 3
    assert Decimal(alert.details["chance_log10"]) < -6


@given(st.lists(st.integers(-1, 400), min_size=1, max_size=40))
def test_hour_counts_are_the_last_hours_kept_of_every_count(steps):
    window, counts, hour = SyndicateWindow(), {}, 1_000
    for step in steps:
        hour = max(hour + step, 1_000)  # -1: a late event from the hour before
        window.count_hour(hour * HOUR + 5)
        counts[hour] = counts.get(hour, 0) + 1
    newest = max(counts)
    first = max(min(counts), newest - HOURS_KEPT + 1)
    assert window.hours_from == first
    assert window.hours == [counts.get(h, 0) for h in range(first, newest + 1)]

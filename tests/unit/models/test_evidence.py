import math
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from models.evidence import (
    Odds,
    exact_tail,
    improbable,
    log_chance,
    log_tail,
    plausible,
    rise_floor,
)

MINUTE = 60_000_000


@given(
    current=st.integers(1, 60),
    baseline=st.integers(0, 200),
    window=st.sampled_from([1, 2, 3, 4, 5]),
)
def test_the_floating_point_tail_agrees_with_the_exact_one(current, baseline, window):
    found = log_tail(current, baseline, window * MINUTE, 60 * MINUTE)
    exact = exact_tail(current, baseline, window * MINUTE, 60 * MINUTE)
    if found == 0.0:  # no more than the window's share: no evidence, by definition
        assert current * (window + 60) <= (current + baseline) * window
    else:
        assert math.isclose(found, math.log(exact), rel_tol=1e-9, abs_tol=1e-9)


@given(
    current=st.integers(1, 40),
    baseline=st.integers(0, 120),
    one_in=st.integers(2, 10**12),
)
def test_the_decision_is_the_exact_one(current, baseline, one_in):
    exact = exact_tail(current, baseline, MINUTE, 60 * MINUTE)
    decided = improbable(current, baseline, MINUTE, 60 * MINUTE, Decimal(one_in))
    share = current * 61 > current + baseline  # above the window's share at all
    assert decided == (share and exact * one_in < 1)


def test_a_tail_exactly_at_the_level_is_decided_in_rational_arithmetic():
    # 3 of 3 in a window one-third of the time: exactly 1/27. At "1 in 27", not below it.
    assert exact_tail(3, 0, 1, 2) == Fraction(1, 27)
    assert not improbable(3, 0, 1, 2, Decimal(27))
    assert improbable(3, 0, 1, 2, Decimal(26))


def test_a_quiet_hour_asks_for_more_evidence_than_a_busy_one():
    # Twice the count in the window against twice the hour: the same ratio, more evidence.
    assert log_tail(20, 120, MINUTE, 60 * MINUTE) < log_tail(10, 60, MINUTE, 60 * MINUTE)


def test_odds_in_words():
    assert Odds.of(math.log(1e-7)).words() == "1 in 10 million by chance"
    assert Odds.of(math.log(1 / 2_300_000_000)).words() == "1 in 2.3 billion by chance"
    assert Odds.of(math.log(1 / 4200)).words() == "1 in 4.2 thousand by chance"
    assert Odds.of(math.log(1 / 350)).words() == "1 in 350 by chance"
    assert Odds.of(-1e6).words() == "1 in 10^434294 by chance"
    assert Odds.of(-0.01).words() == "not unusual by chance"
    assert Odds.of(0.0).log10 == 0


def exact_plausible(current: int, baseline: int, window: int, span: int, ratio: tuple[int, int]):
    """By definition: the count is at least a rise's share, or a rise gives it or fewer at least
    one time in three (in fractions, no shortcut)."""
    m = Fraction(*ratio)
    share = m * window / (m * window + span)
    n = current + baseline
    if current >= n * share:
        return True
    head = sum(
        Fraction(math.comb(n, k)) * share**k * (1 - share) ** (n - k) for k in range(current + 1)
    )
    return head >= Fraction(1, 3)


@given(
    current=st.integers(0, 80),
    baseline=st.integers(0, 400),
    window=st.sampled_from([1, 2, 3, 4, 5]),
    ratio=st.sampled_from([(10, 1), (8, 1), (3, 1), (25, 2), (1, 1)]),
)
def test_plausible_is_the_exact_definition_and_the_floors_never_refuse_a_plausible_count(
    current, baseline, window, ratio
):
    decided = plausible(current, baseline, window * MINUTE, 60 * MINUTE, ratio)
    assert decided == exact_plausible(current, baseline, window * MINUTE, 60 * MINUTE, ratio)
    floors = [rise_floor(baseline, w * MINUTE, 60 * MINUTE, ratio) for w in range(1, 6)]
    assert floors == sorted(floors)  # they rise with the window
    if decided:
        assert current >= floors[window - 1]


def test_a_count_just_under_the_multiplier_is_plausible_and_far_under_it_is_not():
    # 60 an hour: 10x is 10 a minute. 9 is what a 10-fold rise often gives; in a busy syndicate
    # (600 an hour) 90 against 100 is not: the counts are large enough to tell.
    assert plausible(9, 60, MINUTE, 60 * MINUTE, (10, 1))
    assert not plausible(90, 600, MINUTE, 60 * MINUTE, (10, 1))
    assert plausible(100, 600, MINUTE, 60 * MINUTE, (10, 1))
    assert not plausible(3, 60, MINUTE, 60 * MINUTE, (10, 1))


def test_a_plausible_head_exactly_at_one_in_three_is_decided_in_rational_arithmetic():
    # n = 1 of a window whose share at the multiplier is 2/3: P(X <= 0) = 1/3 exactly.
    assert exact_plausible(0, 1, 2, 1, (1, 1))
    assert plausible(0, 1, 2, 1, (1, 1))


def test_the_chance_is_counted_per_five_minutes_for_a_shorter_window():
    tail = log_tail(8, 60, MINUTE, 60 * MINUTE)
    assert math.isclose(log_chance(8, 60, MINUTE, 60 * MINUTE, 5 * MINUTE), tail + math.log(5))
    assert log_chance(8, 60, 5 * MINUTE, 60 * MINUTE, 5 * MINUTE) == log_tail(
        8, 60, 5 * MINUTE, 60 * MINUTE
    )
    # Just inside the window's own odds: improbable for the window, not in 5 minutes of them.
    level = (Decimal(1) / Decimal(math.exp(tail))).quantize(Decimal(1)) - 1
    assert improbable(8, 60, MINUTE, 60 * MINUTE, level)
    assert not improbable(8, 60, MINUTE, 60 * MINUTE, level, 5 * MINUTE)


def test_a_counted_chance_exactly_at_the_level_is_decided_exactly():
    # 3 of 3 in a window one-third of the time: 1/27 per window, 2/27 per twice its length.
    assert improbable(3, 0, 1, 2, Decimal(13), per=2)  # 2/27 * 13 < 1
    assert not improbable(3, 0, 1, 2, Decimal("13.5"), per=2)  # exactly 1 in 13.5: not below
    assert not improbable(3, 0, 1, 2, Decimal(14), per=2)

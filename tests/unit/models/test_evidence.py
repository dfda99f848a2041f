import math
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from models.evidence import Odds, exact_tail, improbable, log_tail

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

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.allocation import allocate

D = Decimal


def test_the_documented_example():
    parts = allocate(D("100000.00"), {"a": D("12345.67"), "b": D("23456.78"), "c": D("34567.89")})
    assert parts == {"a": D("17543.86"), "b": D("33333.33"), "c": D("49122.81")}
    assert sum(parts.values()) == D("100000.00")


def test_ties_go_to_the_smaller_key():
    assert allocate(D("0.02"), {"b": D(1), "a": D(1), "c": D(1)}) == {
        "b": D("0.01"),
        "a": D("0.01"),
        "c": D("0.00"),
    }


def test_zero_weights_get_nothing_and_all_zero_is_refused():
    assert allocate(D("1.00"), {"a": D(0), "b": D(5)}) == {"a": D("0.00"), "b": D("1.00")}
    with pytest.raises(ValueError, match="all weights are zero"):
        allocate(D("1.00"), {"a": D(0)})
    with pytest.raises(ValueError, match="whole number of cents"):
        allocate(D("1.001"), {"a": D(1)})


cents = st.integers(min_value=0, max_value=10**12).map(lambda c: D(c) / 100)
weights = st.dictionaries(
    st.text("abcdef", min_size=1, max_size=4),
    st.integers(min_value=1, max_value=10**10).map(lambda c: D(c) / 100),
    min_size=1,
    max_size=12,
)


@given(cents, weights)
def test_parts_always_sum_exactly_and_each_is_within_a_cent_of_its_share(total, w):
    parts = allocate(total, w)
    assert sum(parts.values()) == total
    weight_sum = sum(w.values())
    for key, part in parts.items():
        assert part.as_tuple().exponent == -2
        assert abs(part - total * w[key] / weight_sum) < D("0.01")

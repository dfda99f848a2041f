from decimal import Decimal

import pytest

from models.money import MAX_AMOUNT, MoneyError, parse_amount


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.10", Decimal("0.10")),
        ("0.1", Decimal("0.10")),
        ("0.100", Decimal("0.10")),  # equal to itself at the cent: accepted
        (
            "1e2",
            Decimal("100.00"),
        ),  # the stated rule: exponent notation is fine if exact to the cent
        ("1E-2", Decimal("0.01")),
        (Decimal("123456789012345678.11"), Decimal("123456789012345678.11")),
        (7, Decimal("7.00")),
        (str(MAX_AMOUNT), MAX_AMOUNT),
    ],
)
def test_accepts_exact_amounts(raw, expected):
    amount = parse_amount(raw)
    assert amount == expected
    assert amount.as_tuple().exponent == -2  # always stored at the cent


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1.005", "more than 2 decimal places"),
        ("0", "greater than 0"),
        ("-5.00", "greater than 0"),
        ("0.00", "greater than 0"),
        ("NaN", "not finite"),
        ("Infinity", "not finite"),
        ("abc", "not a decimal"),
        ("", "not a decimal"),
        (" 1.00", "not a decimal"),
        ("1_000", "not a decimal"),
        (1.5, "decimal string"),
        (True, "decimal string"),
        (None, "not NoneType"),
        ("1000000000000000000.00", "exceeds"),
    ],
)
def test_refuses_inexact_or_out_of_range_amounts(raw, message):
    with pytest.raises(MoneyError, match=message):
        parse_amount(raw)

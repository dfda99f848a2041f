"""Money: ``Decimal`` with at most two fractional digits, never a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
# NUMERIC(20, 2) in PostgreSQL: 18 integer digits.
MAX_AMOUNT = Decimal("999999999999999999.99")


class MoneyError(ValueError):
    """An amount that is not a valid amount of money."""


def parse_amount(value: object) -> Decimal:
    """Parse a positive amount with at most two decimals.

    Accepted: ``Decimal``, ``int`` and decimal strings ("0.10", "100", "1e2").
    A value is valid when it equals itself rounded to the cent, so "0.100" is
    0.10 and "1e2" is 100.00, while "1.005" is refused. ``float`` and ``bool``
    are refused: a float has already lost the exact value.
    """
    if isinstance(value, (bool, float)):
        raise MoneyError("amount must be a decimal string or an exact JSON number")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text or text != value or "_" in text:
            raise MoneyError(f"amount {value!r} is not a decimal number")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"amount {value!r} is not a decimal number") from None
    else:
        raise MoneyError(f"amount must be a decimal string or number, not {type(value).__name__}")
    if not amount.is_finite():
        raise MoneyError(f"amount {value!r} is not finite")
    if amount <= 0:
        raise MoneyError(f"amount {amount} must be greater than 0")
    if amount > MAX_AMOUNT:
        raise MoneyError(f"amount {amount} exceeds the largest amount {MAX_AMOUNT}")
    cents = amount.quantize(CENT)
    if cents != amount:
        raise MoneyError(f"amount {value} has more than 2 decimal places")
    return cents

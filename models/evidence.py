"""How improbable a count is by chance: the evidence behind a spike alert. Pure.

A syndicate's usual rate is itself only known from a count (its last hour's, say), so the test is
the exact conditional one for two Poisson counts: given ``current`` transactions in a window of
length ``w`` and ``baseline`` in a span of length ``h``, if the rate were the same in both, each of
the ``current + baseline`` transactions would fall in the window with probability ``w / (w + h)``
independently. The chance of ``current`` or more there is a binomial tail. A quiet hour (few
transactions to know the rate by) thus asks for more evidence than a plain Poisson test would,
which is what keeps low-volume syndicates from crying wolf.

Decisions are exact: the tail is computed in floating point, and when that lands within a hair of
the level it is computed again in rational arithmetic, so a replay on any machine decides the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

# Relative closeness (in natural log) under which the floating-point tail is not trusted to decide.
_HAIR = 1e-9
_WORDS = ((12, "trillion"), (9, "billion"), (6, "million"), (3, "thousand"))


def log_tail(current: int, baseline: int, window: int, span: int) -> float:
    """Natural log of P(X >= current), X ~ Binomial(current + baseline, window / (window + span)).

    0.0 (certain) when ``current`` is not above the count the window should hold on average: such a
    count is no evidence of anything, and this keeps the sum short (its terms only shrink above).
    """
    n = current + baseline
    if current <= 0 or span <= 0 or current * (window + span) <= n * window:
        return 0.0
    p = window / (window + span)
    lp, lq = math.log(p), math.log1p(-p)
    first = (
        math.lgamma(n + 1)
        - math.lgamma(current + 1)
        - math.lgamma(baseline + 1)
        + current * lp
        + baseline * lq
    )
    odds = p / (1 - p)
    total = term = 1.0
    k = current
    while k < n:
        term *= (n - k) / (k + 1) * odds
        k += 1
        total += term
        if term < total * 1e-17:
            break
    return min(0.0, first + math.log(total))


def exact_tail(current: int, baseline: int, window: int, span: int) -> Fraction:
    """The same tail as a fraction: slow for large counts, so only for the rare close call."""
    n = current + baseline
    whole = window + span
    top = sum(math.comb(n, k) * window**k * span ** (n - k) for k in range(current, n + 1))
    return Fraction(top, whole**n)


def improbable(current: int, baseline: int, window: int, span: int, one_in: Decimal) -> bool:
    """True when ``current`` or more would come by chance less than once in ``one_in`` (>= 2)."""
    level = -math.log(one_in)
    found = log_tail(current, baseline, window, span)
    if abs(found - level) > _HAIR * max(1.0, abs(level)):
        return found < level
    return exact_tail(current, baseline, window, span) * Fraction(one_in) < 1


@dataclass(frozen=True, slots=True)
class Odds:
    """A probability as people say it: "1 in 10 million"."""

    log10: Decimal  # of the probability; rounded to 0.01, never above 0

    @classmethod
    def of(cls, log_e: float) -> Odds:
        value = Decimal(repr(round(min(0.0, log_e) / math.log(10), 2)))
        return cls(value if value else Decimal(0))

    def words(self) -> str:
        exponent = -self.log10
        if exponent < 1:
            return "not unusual by chance"
        for power, word in _WORDS:
            if exponent >= power:
                if exponent >= power + 3 and power == 12:
                    return f"1 in 10^{int(exponent)} by chance"
                scaled = (Decimal(10) ** (exponent - power)).quantize(Decimal("0.1"))
                shown = f"{scaled:f}".removesuffix(".0")
                return f"1 in {shown} {word} by chance"
        # Two significant figures: the log is kept to 0.01, so a third would claim too much.
        value = Decimal(10) ** exponent
        shown = value.quantize(Decimal(1).scaleb(value.adjusted() - 1))
        return f"1 in {int(shown):,} by chance"

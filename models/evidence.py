"""How improbable a count is by chance: the evidence behind a spike alert. Pure.

A syndicate's usual rate is itself only known from a count (its last hour's, say), so the test is
the exact conditional one for two Poisson counts: given ``current`` transactions in a window of
length ``w`` and ``baseline`` in a span of length ``h``, if the rate were the same in both, each of
the ``current + baseline`` transactions would fall in the window with probability ``w / (w + h)``
independently. The chance of ``current`` or more there is a binomial tail. A quiet hour (few
transactions to know the rate by) thus asks for more evidence than a plain Poisson test would,
which is what keeps low-volume syndicates from crying wolf.

A short window is looked at more often than a long one (there are five 1-minute windows in every
5 minutes), so its chance is counted per ``per`` (the longest window): the tail times ``per /
window``, the expected number of such counts in that time. Without it, noise in 1-minute windows
made most of the false alerts.

The same split judges the multiplier on rates, not counts (``plausible``): a count a little under
10 times the usual, against an hour that itself is a count, is what a true 10-fold rise often gives.
It passes when a rise to the multiplier would give it or fewer at least one time in three.

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


def log_chance(current: int, baseline: int, window: int, span: int, per: int) -> float:
    """Natural log of the chance of ``current`` or more in some window of this length within
    ``per`` (>= ``window``): the tail times ``per / window``, never above certain."""
    return min(0.0, log_tail(current, baseline, window, span) + math.log(per / window))


def improbable(
    current: int, baseline: int, window: int, span: int, one_in: Decimal, per: int | None = None
) -> bool:
    """True when ``current`` or more would come by chance less than once in ``one_in`` (>= 2),
    counted per ``per`` (the window itself by default)."""
    per = window if per is None else per
    level = -math.log(one_in)
    found = log_tail(current, baseline, window, span) + math.log(per / window)
    if abs(found - level) > _HAIR * max(1.0, abs(level)):
        return found < level
    return exact_tail(current, baseline, window, span) * Fraction(one_in) * per < window


# A rise to the multiplier gives a count this low or lower at least this often: plausible.
PLAUSIBLE = Fraction(1, 3)
_LOG_PLAUSIBLE = math.log(PLAUSIBLE)
# Chernoff: P(X <= k) <= exp(-(mu - k)^2 / (2 mu)) < exp(-1.1) < 1/3 when (mu - k)^2 > 2.2 mu.
_CHERNOFF = 2.2
_KL_PLAUSIBLE = -_LOG_PLAUSIBLE * (1 + _HAIR)  # ln 3, and a hair: exp(-this) is below 1 / 3


def _rise(
    current: int, baseline: int, window: int, span: int, ratio: tuple[int, int]
) -> tuple[int, int, int]:
    """n, and the window's share of each of the n were its rate ``ratio`` times the span's, as the
    fraction (share, whole)."""
    num, den = ratio
    return current + baseline, num * window, num * window + den * span


def log_head(current: int, n: int, p: float) -> float:
    """Natural log of P(X <= current), X ~ Binomial(n, p), for current below the mean."""
    q = 1.0 - p
    lp, lq = math.log(p), math.log1p(-p)
    first = (
        math.lgamma(n + 1)
        - math.lgamma(current + 1)
        - math.lgamma(n - current + 1)
        + current * lp
        + (n - current) * lq
    )
    back = q / p  # term(k - 1) / term(k) = k / (n - k + 1) * q / p
    total = term = 1.0
    k = current
    while k > 0:
        term *= k / (n - k + 1) * back
        k -= 1
        total += term
        if term < total * 1e-17:
            break
    return min(0.0, first + math.log(total))


def exact_head(current: int, n: int, share: int, whole: int) -> Fraction:
    """P(X <= current), X ~ Binomial(n, share / whole), as a fraction: only for close calls."""
    rest = whole - share
    top = sum(math.comb(n, k) * share**k * rest ** (n - k) for k in range(current + 1))
    return Fraction(top, whole**n)


def plausible(current: int, baseline: int, window: int, span: int, ratio: tuple[int, int]) -> bool:
    """True when ``current`` in the window is what a rate ``ratio`` (num, den) times the span's
    could give: at or above that share of the counts, or a count so little below it that such a
    rise gives it or fewer at least ``PLAUSIBLE`` of the time."""
    n, share, whole = _rise(current, baseline, window, span, ratio)
    if current * whole >= n * share:
        return True  # at or above the multiplied rate itself
    p = share / whole
    if current == 0:
        found = n * math.log1p(-p)  # the head is the one term
    else:
        # Chernoff-Hoeffding: the head is at most exp(-n KL(current / n || p)). Far below the rise,
        # that settles it with two logarithms instead of a sum.
        a = current / n
        if n * (a * math.log(a / p) + (1 - a) * math.log((1 - a) / (1 - p))) > _KL_PLAUSIBLE:
            return False
        found = log_head(current, n, p)
    if abs(found - _LOG_PLAUSIBLE) > _HAIR:
        return found > _LOG_PLAUSIBLE
    return exact_head(current, n, share, whole) >= PLAUSIBLE


def rise_floor(baseline: int, window: int, span: int, ratio: tuple[int, int]) -> float:
    """A count below this is never ``plausible`` in a window at least this long: the Chernoff bound
    at the smallest mean such a window can have, ``baseline``'s share alone (the mean only grows
    with the count and the window, and so does the bound). The quick test that stops most events
    of a syndicate before any sum; a hair under the bound, so floating point never refuses a
    plausible count."""
    _, share, whole = _rise(0, baseline, window, span, ratio)
    mean = baseline * share / whole
    if mean <= _CHERNOFF:
        return 0.0
    return (mean - math.sqrt(_CHERNOFF * mean)) * (1 - _HAIR) - 1e-6


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

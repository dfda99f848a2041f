"""Pro-rata allocation to the cent: largest remainder, ties by key ascending. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")


def allocate(total: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split ``total`` (whole cents) over ``weights`` pro rata; the parts sum to ``total`` exactly.

    Each part starts at its exact share rounded down to the cent; the cents left over go one each to
    the largest remainders, ties broken by key ascending. Zero-weight keys get nothing.
    """
    if total != total.quantize(CENT):
        raise ValueError(f"total {total} is not a whole number of cents")
    positive = {k: w for k, w in weights.items() if w > 0}
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must not be negative")
    if not positive:
        if total == 0:
            return dict.fromkeys(weights, Decimal("0.00"))
        raise ValueError("nothing to allocate over: all weights are zero")
    weight_sum = sum(positive.values())
    parts: dict[str, Decimal] = {}
    remainders: list[tuple[Decimal, str]] = []
    for key, weight in positive.items():
        exact = total * weight / weight_sum
        floor = exact.quantize(CENT, rounding=ROUND_DOWN)
        parts[key] = floor
        remainders.append((exact - floor, key))
    leftover = int((total - sum(parts.values())) / CENT)
    # Largest remainder first; equal remainders by key ascending.
    for _, key in sorted(remainders, key=lambda r: (-r[0], r[1]))[:leftover]:
        parts[key] += CENT
    return {k: parts.get(k, Decimal("0.00")) for k in weights}

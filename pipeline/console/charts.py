"""Small SVG charts that say why an alert fired. Pure: numbers in, SVG text out.

Drawn on the server as images of a fixed size, so a page never shifts when they arrive and needs no
chart library.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 280, 90
_PAD_TOP, _PAD_BOTTOM, _PAD_LEFT = 12, 16, 4
_PLOT = HEIGHT - _PAD_TOP - _PAD_BOTTOM


def _svg(body: str, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
        "<style>text{font:10px system-ui,sans-serif;fill:#444}</style>"
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>{body}</svg>'
    )


def _y(value: float, top: float) -> float:
    return _PAD_TOP + _PLOT - (value / top) * _PLOT if top > 0 else _PAD_TOP + _PLOT


def spike_chart(
    per_minute: Sequence[int], baseline_per_minute: Decimal, multiplier: Decimal
) -> str:
    """Transactions per minute (oldest first), the hourly baseline and the line the rule fires at."""
    fire_line = float(baseline_per_minute * multiplier)
    baseline = float(baseline_per_minute)
    top = max([*per_minute, fire_line, baseline, 1]) * 1.1
    bar = (WIDTH - _PAD_LEFT * 2) / max(len(per_minute), 1)
    bars = "".join(
        f'<rect x="{_PAD_LEFT + i * bar:.1f}" y="{_y(n, top):.1f}" width="{max(bar - 0.6, 0.4):.1f}" '
        f'height="{_PAD_TOP + _PLOT - _y(n, top):.1f}" fill="#3b6ea8"/>'
        for i, n in enumerate(per_minute)
        if n
    )
    lines = (
        f'<line x1="0" x2="{WIDTH}" y1="{_y(baseline, top):.1f}" y2="{_y(baseline, top):.1f}" '
        'stroke="#2a8a3e" stroke-dasharray="3 2"/>'
        f'<line x1="0" x2="{WIDTH}" y1="{_y(fire_line, top):.1f}" y2="{_y(fire_line, top):.1f}" '
        'stroke="#c0392b"/>'
        f'<text x="{WIDTH - 4}" y="{max(_y(fire_line, top) - 2, 10):.1f}" text-anchor="end">'
        f"{multiplier.normalize():f}\u00d7 baseline</text>"
        f'<text x="4" y="{HEIGHT - 3}">\u221270 min</text>'
        f'<text x="{WIDTH - 4}" y="{HEIGHT - 3}" text-anchor="end">alert</text>'
    )
    label = (
        f"Transactions per minute over the last {len(per_minute)} minutes; hourly baseline "
        f"{baseline:.2f} per minute, fires at {fire_line:.2f}; peak {max(per_minute, default=0)}"
    )
    return _svg(bars + lines, label)


def amount_chart(amount: Decimal, threshold: Decimal, currency: str = "USD") -> str:
    """The transaction's amount as a bar against the syndicate's threshold."""
    top = float(max(amount, threshold)) * 1.1 or 1.0
    left, right = 70, WIDTH - 10
    span = right - left

    def x(value: Decimal) -> float:
        return left + float(value) / top * span

    body = (
        f'<text x="4" y="32">amount</text>'
        f'<rect x="{left}" y="22" width="{x(amount) - left:.1f}" height="14" fill="#3b6ea8"/>'
        f'<text x="4" y="62">threshold</text>'
        f'<rect x="{left}" y="52" width="{x(threshold) - left:.1f}" height="14" fill="#bbb"/>'
        f'<line x1="{x(threshold):.1f}" x2="{x(threshold):.1f}" y1="12" y2="{HEIGHT - 12}" '
        'stroke="#c0392b"/>'
        f'<text x="{left + 2}" y="48">{amount:,.2f} {escape(currency)}</text>'
        f'<text x="{left + 2}" y="78">{threshold:,.2f}</text>'
    )
    label = f"Amount {amount:,.2f} {currency} against the threshold of {threshold:,.2f}"
    return _svg(body, label)

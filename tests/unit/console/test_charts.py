"""The alert charts draw what the rule saw, at a fixed size, with words for screen readers."""

from __future__ import annotations

import re
from decimal import Decimal
from xml.etree import ElementTree

import pytest

from pipeline.console.charts import HEIGHT, WIDTH, amount_chart, spike_chart

SVG = "{http://www.w3.org/2000/svg}"


def bars(svg: str) -> list[ElementTree.Element]:
    root = ElementTree.fromstring(svg)
    return [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#3b6ea8"]


def test_a_spike_chart_has_a_bar_per_busy_minute_and_the_lines_the_rule_uses():
    counts = [1] * 60 + [0] * 5 + [3, 9, 14, 20, 25]
    svg = spike_chart(counts, Decimal("1.2"), Decimal("10"))
    root = ElementTree.fromstring(svg)
    assert (root.get("width"), root.get("height")) == (str(WIDTH), str(HEIGHT))
    drawn = bars(svg)
    assert len(drawn) == 65  # the five quiet minutes draw nothing
    heights = [float(r.get("height")) for r in drawn]
    assert heights[-1] == max(heights)  # the last minute is the tallest
    lines = root.findall(f"{SVG}line")
    baseline, fire = (float(line.get("y1")) for line in lines)
    assert fire < baseline  # the 10x line sits above the baseline (SVG's y grows down)
    label = root.get("aria-label")
    assert "baseline 1.20 per minute, fires at 12.00; peak 25" in label
    assert "10\u00d7 baseline" in svg


def test_an_amount_chart_compares_the_amount_with_the_threshold():
    svg = amount_chart(Decimal("25000.00"), Decimal("10000.00"), "EUR")
    amount, threshold = (
        float(r.get("width"))
        for r in ElementTree.fromstring(svg).iter(f"{SVG}rect")
        if r.get("height") == "14"
    )
    assert amount == pytest.approx(2.5 * threshold, abs=0.1)
    assert "Amount 25,000.00 EUR against the threshold of 10,000.00" in svg


def test_text_in_a_chart_is_escaped():
    svg = amount_chart(Decimal("1"), Decimal("2"), "<b>")
    assert "<b>" not in svg
    assert re.search(r"&lt;b&gt;", svg)
    ElementTree.fromstring(svg)  # still well-formed

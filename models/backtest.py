"""Backtest: the stored history replayed through the live rules, with candidate settings. Pure.

Live detection applies each syndicate's transactions in the order its partition delivered them (by
source position), and a syndicate's window state depends on nothing else. Replaying that order from
the syndicate's first transaction, through the same ``observe`` and ``large_transaction``, gives the
same alerts with the same ids; alerts are reported for events in [start, end), while every earlier
(and later-dated but earlier-arrived) transaction still moves the windows, lateness and open spikes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from models.anomaly import (
    Alert,
    InvalidRule,
    PartitionWindows,
    SyndicateRules,
    SyndicateWindow,
    large_transaction,
    parse_multiplier,
    to_micros,
)
from models.money import MoneyError, parse_amount
from models.transaction import Transaction


@dataclass(frozen=True, slots=True)
class Overrides:
    """Candidate settings; None keeps the syndicate's own."""

    threshold: Decimal | None = None
    spike_multiplier: Decimal | None = None
    spike_min_count: int | None = None

    @classmethod
    def parse(
        cls,
        threshold: str | None,
        spike_multiplier: str | None,
        spike_min_count: str | int | None,
        label: Callable[[str], str] = lambda field: field,
    ) -> Overrides:
        """Candidate settings as a user gives them (the CLI's options, the console's query);
        ``InvalidRule`` names the setting, spelled by ``label``, and says what is wrong."""
        parsed_threshold = None
        if threshold is not None:
            try:
                parsed_threshold = parse_amount(threshold)
            except MoneyError as exc:
                raise InvalidRule(f"{label('threshold')}: {exc}") from None
        parsed_count = None
        if spike_min_count is not None:
            text = str(spike_min_count)
            if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
                raise InvalidRule(f"{label('spike_min_count')} must be a whole number from 1")
            parsed_count = int(text)
        return cls(
            parsed_threshold,
            None
            if spike_multiplier is None
            else parse_multiplier(spike_multiplier, label("spike_multiplier")),
            parsed_count,
        )

    def apply(self, rules: SyndicateRules) -> SyndicateRules:
        return replace(
            rules,
            threshold=rules.threshold if self.threshold is None else self.threshold,
            spike_multiplier=rules.spike_multiplier
            if self.spike_multiplier is None
            else self.spike_multiplier,
            spike_min_count=rules.spike_min_count
            if self.spike_min_count is None
            else self.spike_min_count,
        )


def replay(
    transactions: Iterable[Transaction | tuple[Transaction, int]],
    rules_of: Callable[[str], SyndicateRules],
    lateness: int,
    start: datetime,
    end: datetime,
) -> list[Alert]:
    """The alerts the rules raise over ``transactions`` (in arrival order) for events in [start,
    end). Each item is a transaction, or a transaction and its event time in microseconds."""
    rule = PartitionWindows(lateness)
    windows: dict[str, SyndicateWindow] = {}
    rules: dict[str, SyndicateRules] = {}
    raised: list[Alert] = []
    first, last = to_micros(start), to_micros(end)
    for item in transactions:
        if isinstance(item, tuple):
            t, micros = item
        else:
            t, micros = item, to_micros(item.transaction_date)
        syndicate = t.syndicate_id
        window = windows.get(syndicate)
        if window is None:
            window = windows[syndicate] = SyndicateWindow()
            rules[syndicate] = rules_of(syndicate)
        own = rules[syndicate]
        large = large_transaction(t, own) if t.transaction_amount > own.threshold else None
        _, spike = rule.observe(t, window, own, micros)
        if first <= micros < last:
            if large is not None:
                raised.append(large)
            if spike is not None:
                raised.append(spike)
    raised.sort(key=lambda a: (a.event_time, str(a.alert_id)))
    return raised


@dataclass(frozen=True, slots=True)
class Difference:
    """Per syndicate and kind: what live detection raised against what the candidate rules raise."""

    syndicate_id: str
    kind: str
    live: int
    candidate: int
    added: int
    removed: int


def compare(live: Iterable[tuple[str, str, str]], candidate: Iterable[Alert]) -> list[Difference]:
    """``live``: (alert_id, kind, syndicate_id) of the alerts stored for the same range."""
    stored: dict[tuple[str, str], set[str]] = {}
    for alert_id, kind, syndicate_id in live:
        stored.setdefault((syndicate_id, kind), set()).add(str(alert_id))
    found: dict[tuple[str, str], set[str]] = {}
    for a in candidate:
        found.setdefault((a.syndicate_id, a.kind.value), set()).add(str(a.alert_id))
    return [
        Difference(
            syndicate_id=key[0],
            kind=key[1],
            live=len(stored.get(key, set())),
            candidate=len(found.get(key, set())),
            added=len(found.get(key, set()) - stored.get(key, set())),
            removed=len(stored.get(key, set()) - found.get(key, set())),
        )
        for key in sorted(stored.keys() | found.keys())
    ]

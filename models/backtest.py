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
from datetime import datetime, timedelta
from decimal import Decimal

from models.anomaly import (
    Alert,
    AlertKind,
    InvalidRule,
    PartitionWindows,
    SyndicateRules,
    SyndicateWindow,
    large_transaction,
    parse_evidence,
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
    spike_evidence: Decimal | None = None

    @classmethod
    def parse(
        cls,
        threshold: str | None,
        spike_multiplier: str | None,
        spike_min_count: str | int | None,
        label: Callable[[str], str] = lambda field: field,
        spike_evidence: str | None = None,
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
            None
            if spike_evidence is None
            else parse_evidence(spike_evidence, label("spike_evidence")),
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
            spike_evidence=rules.spike_evidence
            if self.spike_evidence is None
            else self.spike_evidence,
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


# A candidate spike this close to a live one, in the same syndicate, is the same episode.
SAME_EPISODE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class LiveAlert:
    alert_id: str
    kind: str
    syndicate_id: str
    event_time: datetime
    false_positive: bool  # resolved with the note "false positive"


@dataclass(frozen=True, slots=True)
class LabelScore:
    """Candidate settings against the managers' own verdicts on live alerts."""

    false_positives: int  # live alerts resolved as "false positive"
    false_positives_still_raised: int  # of those, the candidate settings raise them again
    other_live: int  # live alerts nobody called false
    other_live_dropped: int  # of those, the candidate settings no longer raise

    def words(self) -> str:
        if not self.false_positives:
            return "No alert in this range was resolved as a false positive: no labels to score."
        quiet = self.false_positives - self.false_positives_still_raised
        return (
            f"Of {self.false_positives} alerts resolved as false positives, the candidate settings "
            f"would not raise {quiet}; of {self.other_live} other live alerts they would drop "
            f"{self.other_live_dropped}."
        )


def score_labels(live: Iterable[LiveAlert], candidate: Iterable[Alert]) -> LabelScore:
    """A live alert is raised again when the candidate raises the same alert (a large transaction:
    the same transaction) or, for a spike, one in the same syndicate within ``SAME_EPISODE``."""
    ids = set()
    spikes: dict[str, list[datetime]] = {}
    for a in candidate:
        ids.add(str(a.alert_id))
        if a.kind is AlertKind.SPIKE:
            spikes.setdefault(a.syndicate_id, []).append(a.event_time)

    def raised(alert: LiveAlert) -> bool:
        if alert.alert_id in ids:
            return True
        return alert.kind == AlertKind.SPIKE and any(
            abs(at - alert.event_time) <= SAME_EPISODE for at in spikes.get(alert.syndicate_id, ())
        )

    stored = list(live)
    false = [a for a in stored if a.false_positive]
    other = [a for a in stored if not a.false_positive]
    return LabelScore(
        false_positives=len(false),
        false_positives_still_raised=sum(raised(a) for a in false),
        other_live=len(other),
        other_live_dropped=sum(not raised(a) for a in other),
    )

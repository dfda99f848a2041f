"""``pulse backtest`` and ``GET /syndicates/{id}/backtest``: the stored history through the live
rules with candidate settings (models.backtest), against what live detection raised. Reads only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg

import sql
from config import Settings
from models.alert_status import InvalidQuery
from models.anomaly import SyndicateRules, alert_message
from models.backtest import Difference, Overrides, compare, replay
from models.transaction import Transaction
from pipeline.alerts.rules import RulesCache
from pipeline.platform.db import connect
from pipeline.platform.queries import rows_sync

FETCH = 20_000


@dataclass
class BacktestResult:
    alerts: list[dict[str, Any]]
    summary: list[Difference]

    def summary_json(self) -> list[dict[str, Any]]:
        return [asdict(d) for d in self.summary]


def _listed(alert: dict[str, Any]) -> dict[str, Any]:
    """A would-be alert in the shape ``pulse alerts list --json`` gives a stored one."""
    listed = {k: v for k, v in alert.items() if k != "syndicate_name"}
    return {
        **listed,
        "detected_at": None,
        "status": None,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "resolved_by": None,
        "resolved_at": None,
        "escalation_level": None,
    }


def backtest(
    database_url: str,
    settings: Settings,
    start: datetime,
    end: datetime,
    syndicate_ids: Sequence[str] | None = None,
    overrides: Overrides = Overrides(),
) -> BacktestResult:
    """Replays every stored transaction of the syndicates (all when none are named), reports the
    alerts of [start, end) with the overrides applied to those syndicates."""
    if end <= start:
        raise InvalidQuery("--to must be after --from")
    named = sorted(set(syndicate_ids)) if syndicate_ids else None
    cache = RulesCache(settings)
    with connect(database_url) as conn:
        stored = {
            r["syndicate_id"]: cache.merge(
                r["name"],
                r["threshold_amount"],
                r["spike_multiplier"],
                r["spike_min_count"],
                r["enabled"],
            )
            for r in rows_sync(conn, "alerts/rules")
        }

        def rules_of(syndicate_id: str) -> SyndicateRules:
            return overrides.apply(stored.get(syndicate_id, cache.defaults))

        raised = replay(
            _history(conn, named),
            rules_of,
            settings.late_event_seconds * 1_000_000,
            start,
            end,
        )
        live = rows_sync(conn, "alerts/alerts_in_range", start=start, end=end, syndicate_ids=named)
    summary = compare(((r["alert_id"], r["kind"], r["syndicate_id"]) for r in live), raised)
    return BacktestResult(
        [
            _listed(alert_message(a, stored.get(a.syndicate_id, cache.defaults).name))
            for a in raised
        ],
        summary,
    )


def _history(conn: psycopg.Connection, syndicate_ids: list[str] | None) -> Iterator[Transaction]:
    """Every stored transaction of these syndicates in arrival order, streamed (a server-side
    cursor: a year of history never sits in memory at once)."""
    with conn.transaction(), conn.cursor(name="backtest") as cur:
        cur.itersize = FETCH
        cur.execute(sql.load("alerts/backtest_transactions"), {"syndicate_ids": syndicate_ids})
        for tid, investor, syndicate, amount, moment, currency in cur:
            yield Transaction(tid, investor, syndicate, amount, moment, currency)

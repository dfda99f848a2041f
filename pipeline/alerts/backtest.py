"""``pulse backtest`` and ``GET /syndicates/{id}/backtest``: the stored history through the live
rules with candidate settings (models.backtest), against what live detection raised. Reads only."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from multiprocessing import get_context
from typing import Any

import psycopg

import sql
from config import Settings
from models.alert_status import InvalidQuery
from models.anomaly import Alert, SyndicateRules, alert_message
from models.backtest import (
    Difference,
    LabelScore,
    LiveAlert,
    Overrides,
    compare,
    replay,
    score_labels,
)
from models.transaction import Transaction
from pipeline.alerts.rules import RulesCache
from pipeline.platform.db import connect
from pipeline.platform.queries import rows_sync

FETCH = 20_000
# Below this many rows one process is quicker: a spawned one takes seconds to import what it needs.
SPLIT_FROM = 200_000


@dataclass
class BacktestResult:
    alerts: list[dict[str, Any]]
    summary: list[Difference]
    labels: LabelScore

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
    processes: int = 1,
) -> BacktestResult:
    """Replays every stored transaction of the syndicates (all when none are named), reports the
    alerts of [start, end) with the overrides applied to those syndicates. ``processes`` > 1 splits
    the syndicates into shares replayed side by side (a syndicate's history stays whole)."""
    if end <= start:
        raise InvalidQuery("--to must be after --from")
    named = sorted(set(syndicate_ids)) if syndicate_ids else None
    cache = RulesCache(settings)
    with connect(database_url) as conn:
        stored = cache.rules_from(rows_sync(conn, "alerts/rules"))
        live = rows_sync(conn, "alerts/alerts_in_range", start=start, end=end, syndicate_ids=named)
        if processes > 1:
            size = rows_sync(conn, "alerts/backtest_size", syndicate_ids=named)[0]["n"]
            processes = processes if size >= SPLIT_FROM else 1
    work = Share(
        database_url,
        {k: overrides.apply(v) for k, v in stored.items()},
        overrides.apply(cache.defaults),
        settings.late_event_seconds * 1_000_000,
        start,
        end,
        named,
    )
    if processes > 1:
        # Spawned, not forked: a worker's threads and connections stay out of the children.
        with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
            raised = [
                a
                for part in pool.map(work.replay, range(processes), [processes] * processes)
                for a in part
            ]
        raised.sort(key=lambda a: (a.event_time, str(a.alert_id)))
    else:
        raised = work.replay(0, None)
    summary = compare(((r["alert_id"], r["kind"], r["syndicate_id"]) for r in live), raised)
    return BacktestResult(
        [
            _listed(alert_message(a, stored.get(a.syndicate_id, cache.defaults).name))
            for a in raised
        ],
        summary,
        _labels(live, raised),
    )


def _labels(live: list[dict[str, Any]], raised: list[Alert]) -> LabelScore:
    """The candidate's alerts against the managers' verdicts on the live ones of the range."""
    return score_labels(
        (
            LiveAlert(
                str(r["alert_id"]),
                r["kind"],
                r["syndicate_id"],
                r["event_time"],
                r["false_positive"],
            )
            for r in live
        ),
        raised,
    )


async def backtest_syndicate(
    settings: Settings, syndicate_id: str, start: datetime, end: datetime, overrides: Overrides
) -> BacktestResult:
    """One syndicate's backtest for the web server (the API's and the console's): in a thread, as the
    replay is CPU work that must not hold the worker's event loop."""
    return await asyncio.to_thread(
        backtest, settings.resolved_read_url(), settings, start, end, [syndicate_id], overrides
    )


@dataclass(frozen=True)
class Share:
    """One replay, picklable: what a child process needs to replay its share of the syndicates."""

    database_url: str
    rules: dict[str, SyndicateRules]
    defaults: SyndicateRules
    lateness: int
    start: datetime
    end: datetime
    syndicate_ids: list[str] | None

    def replay(self, share: int, shares: int | None) -> list[Alert]:
        with connect(self.database_url) as conn:
            return replay(
                self._history(conn, share, shares),
                lambda s: self.rules.get(s, self.defaults),
                self.lateness,
                self.start,
                self.end,
            )

    def _history(
        self, conn: psycopg.Connection, share: int, shares: int | None
    ) -> Iterator[tuple[Transaction, int]]:
        """Every stored transaction of these syndicates in arrival order, with its event time in
        microseconds, streamed (a server-side cursor: years of history never sit in memory)."""
        with conn.transaction(), conn.cursor(name="backtest") as cur:
            cur.itersize = FETCH
            cur.execute(
                sql.load("alerts/backtest_transactions"),
                {"syndicate_ids": self.syndicate_ids, "shares": shares, "share": share},
            )
            for tid, investor, syndicate, amount, moment, currency, micros in cur:
                yield Transaction(tid, investor, syndicate, amount, moment, currency), micros

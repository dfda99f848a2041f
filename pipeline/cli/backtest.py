"""``pulse backtest``: what the rules, or candidate settings, would have raised over stored history."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.table import Table

from pipeline.cli.common import err, fail, out, parse_time, read_url, settings

if TYPE_CHECKING:
    from models.backtest import Difference
    from pipeline.alerts.backtest import BacktestResult


def backtest(
    start: Annotated[str, typer.Option("--from", help="RFC 3339: first event time reported")],
    end: Annotated[str, typer.Option("--to", help="RFC 3339: events before this are reported")],
    syndicate: Annotated[
        list[str] | None,
        typer.Option(help="Only this syndicate (repeat for more); the overrides apply to them"),
    ] = None,
    threshold: Annotated[
        str | None, typer.Option(help="Candidate large-transaction threshold, e.g. 25000.00")
    ] = None,
    spike_multiplier: Annotated[
        str | None, typer.Option(help="Candidate multiple of the hourly average")
    ] = None,
    spike_min_count: Annotated[
        int | None, typer.Option(min=1, help="Candidate fewest transactions in a window")
    ] = None,
    spike_evidence: Annotated[
        str | None, typer.Option(help="Candidate evidence level: 1 in this many by chance")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    summary_only: Annotated[
        bool, typer.Option("--summary", help="Print the summary table instead of the alerts")
    ] = False,
) -> None:
    """Replay stored transactions through the live rules with the overrides; print the alerts that
    would have fired (same fields and ids as pulse alerts list), and, on stderr, how they differ
    from what live detection raised. Writes nothing."""
    from models.alert_status import InvalidQuery, clean_filter
    from models.anomaly import InvalidRule
    from models.backtest import Overrides
    from pipeline.alerts.backtest import backtest as run

    try:
        overrides = Overrides.parse(
            threshold,
            spike_multiplier,
            spike_min_count,
            lambda f: "--" + f.replace("_", "-"),
            spike_evidence,
        )
        named = [clean_filter("--syndicate", s) or "" for s in syndicate or []]
        result = run(
            read_url(),
            settings(),
            parse_time(start, "--from"),
            parse_time(end, "--to"),
            named or None,
            overrides,
            processes=min(4, os.cpu_count() or 1),
        )
    except (InvalidRule, InvalidQuery) as exc:
        fail(str(exc))
    _show(result, as_json, summary_only)


def _show(result: BacktestResult, as_json: bool, summary_only: bool) -> None:
    """The alerts (or, with --summary, the summary) on stdout; the rest, and the labels' score, on
    stderr."""
    summary = _summary_table(result.summary)
    if summary_only:
        if as_json:
            print(orjson.dumps(result.summary_json()).decode())
        else:
            out.print(summary)
    else:
        if as_json:
            print(orjson.dumps(result.alerts).decode())
        else:
            out.print(_alerts_table(result.alerts))
        err.print(summary)
    err.print(result.labels.words(), highlight=False, soft_wrap=True, markup=False)


def _summary_table(summary: list[Difference]) -> Table:
    table = Table(title="Backtest against live detection")
    for column in ("syndicate", "kind", "live", "candidate", "added", "removed"):
        table.add_column(column)
    for d in summary:
        table.add_row(
            d.syndicate_id, d.kind, str(d.live), str(d.candidate), str(d.added), str(d.removed)
        )
    return table


def _alerts_table(alerts: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(alerts)} alerts")
    for column in ("event time", "alert", "kind", "syndicate", "observed", "expected"):
        table.add_column(column)
    for a in alerts:
        table.add_row(
            str(a["event_time"]),
            a["alert_id"],
            a["kind"],
            a["syndicate_id"],
            a["observed"],
            a["expected"],
        )
    return table

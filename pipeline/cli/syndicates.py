"""``pulse syndicates``: syndicate alert settings."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from models.alert_status import MAX_ESCALATE_AFTER
from pipeline.cli.common import database_url, fail, out, settings

app = typer.Typer(no_args_is_help=True, help="Syndicate alert settings.")


@app.command("set")
def syndicates_set(
    syndicate_id: str,
    name: Annotated[str | None, typer.Option(help="Display name, used in alerts")] = None,
    threshold: Annotated[
        str | None, typer.Option(help="Large-transaction threshold, e.g. 25000.00")
    ] = None,
    spike_multiplier: Annotated[
        str | None, typer.Option(help="Spike at this many times the hourly average")
    ] = None,
    spike_min_count: Annotated[
        int | None, typer.Option(help="Fewest transactions in a window for a spike")
    ] = None,
    spike_evidence: Annotated[
        str | None,
        typer.Option(help="Spike only on what chance gives less than 1 in this many, e.g. 1e6"),
    ] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="Raise alerts for it")
    ] = None,
    escalate_after: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=MAX_ESCALATE_AFTER,
            help="Seconds an alert may stay open before the next level hears of it (0: never)",
        ),
    ] = None,
) -> None:
    """Create or change a syndicate's settings; running workers pick it up within seconds."""
    from pipeline.alerts.syndicates import SettingsError, SyndicateUpdate, set_syndicate

    try:
        row = set_syndicate(
            database_url(),
            SyndicateUpdate(
                syndicate_id,
                name,
                threshold,
                spike_multiplier,
                spike_min_count,
                enabled,
                escalate_after,
                spike_evidence,
            ),
        )
    except SettingsError as exc:
        fail(str(exc))
    print(orjson.dumps(row).decode())


@app.command("show")
def syndicates_show(
    syndicate_id: Annotated[str | None, typer.Argument()] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Stored settings (empty cells use the PULSE_* defaults)."""
    from pipeline.alerts.syndicates import show_syndicates

    rows = show_syndicates(database_url(), syndicate_id)
    if syndicate_id is not None and not rows:
        fail(f"syndicate {syndicate_id!r} has no settings of its own (it uses the defaults)")
    if as_json:
        print(orjson.dumps(rows if syndicate_id is None else rows[0]).decode())
        return
    config = settings()
    table = Table(title="Syndicates")
    columns = ("syndicate", "name", "threshold", "spike multiplier", "min count", "evidence")
    for column in (*columns, "enabled", "escalate after"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["syndicate_id"],
            r["name"] or "",
            r["threshold"] or f"{config.default_threshold} (default)",
            r["spike_multiplier"] or f"{config.spike_multiplier} (default)",
            str(r["spike_min_count"] or f"{config.spike_min_count} (default)"),
            f"1 in {r['spike_evidence'] or f'{config.spike_evidence} (default)'}",
            "yes" if r["enabled"] else "no",
            f"{config.default_escalate_after} s (default)"
            if r["escalate_after"] is None
            else f"{r['escalate_after']} s",
        )
    out.print(table)

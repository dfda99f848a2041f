"""``pulse alerts``: alerts raised for fund managers."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import database_url, fail, parse_time, show

app = typer.Typer(no_args_is_help=True, help="Alerts raised for fund managers.")


@app.command("list")
def alerts_list(
    syndicate: Annotated[str | None, typer.Option(help="Only this syndicate")] = None,
    kind: Annotated[str | None, typer.Option(help="large_transaction or spike")] = None,
    since: Annotated[
        str | None, typer.Option(help="RFC 3339: alerts with event time at or after")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Alerts, oldest event first."""
    from pipeline.alerts.syndicates import list_alerts

    if kind is not None and kind not in ("large_transaction", "spike"):
        fail("--kind must be large_transaction or spike")
    rows = list_alerts(
        database_url(), syndicate, kind, None if since is None else parse_time(since), limit
    )
    show(
        rows,
        as_json,
        "Alerts",
        {
            "event time": "event_time",
            "kind": "kind",
            "syndicate": "syndicate_id",
            "transaction": "transaction_id",
            "observed": "observed",
            "expected": "expected",
            "ratio": "ratio",
        },
    )

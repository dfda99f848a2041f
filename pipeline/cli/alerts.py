"""``pulse alerts``: alerts raised for fund managers, and their life cycle."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from pipeline.cli.common import audited, database_url, err, fail, parse_time, read_url, show

app = typer.Typer(no_args_is_help=True, help="Alerts raised for fund managers.")


def _run(work: Any, url: str | None = None) -> Any:
    """One connection for one command (to ``url``, else the primary); errors of the domain become
    a message and exit 1."""
    from models.alert_status import InvalidNote, InvalidQuery, UnknownAlert
    from pipeline.platform.db import connect_async

    async def main() -> Any:
        conn = await connect_async(url or database_url(), autocommit=True)
        try:
            return await work(conn)
        finally:
            await conn.close()

    try:
        return asyncio.run(main())
    except (UnknownAlert, InvalidNote, InvalidQuery) as exc:
        fail(str(exc))


@app.command("list")
def alerts_list(
    syndicate: Annotated[str | None, typer.Option(help="Only this syndicate")] = None,
    kind: Annotated[str | None, typer.Option(help="large_transaction or spike")] = None,
    status: Annotated[str | None, typer.Option(help="open, acknowledged or resolved")] = None,
    since: Annotated[
        str | None, typer.Option(help="RFC 3339: alerts with event time at or after")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Alerts, oldest event first."""
    from models.alert_status import AlertStatus, InvalidQuery, clean_filter
    from pipeline.alerts.lifecycle import list_alerts

    if kind is not None and kind not in ("large_transaction", "spike"):
        fail("--kind must be large_transaction or spike")
    statuses = [s.value for s in AlertStatus]
    if status is not None and status not in statuses:
        fail(f"--status must be one of {', '.join(statuses)}")
    moment = None if since is None else parse_time(since, "--since")
    try:
        syndicate = clean_filter("--syndicate", syndicate)
    except InvalidQuery as exc:
        fail(str(exc))
    rows = _run(
        lambda conn: list_alerts(
            conn,
            syndicate_id=syndicate,
            kind=kind,
            status=None if status is None else AlertStatus(status),
            since=moment,
            limit=limit,
        ),
        read_url(),
    )
    show(
        rows,
        as_json,
        "Alerts",
        {
            "event time": "event_time",
            "alert": "alert_id",
            "kind": "kind",
            "syndicate": "syndicate_id",
            "observed": "observed",
            "expected": "expected",
            "status": "status",
            "level": "escalation_level",
        },
    )


def _act(alert_id: str, action_name: str, note: str | None) -> None:
    from models.alert_status import Action, Via
    from pipeline.alerts.lifecycle import act
    from pipeline.cli.common import actor

    action = Action(action_name)
    who = actor()
    decision, _ = _run(lambda conn: act(conn, alert_id, action, actor=who, via=Via.CLI, note=note))
    audited(
        f"alerts {'ack' if action is Action.ACKNOWLEDGE else 'resolve'}",
        alert_id,
        changed=decision.changes,
        note=note,
    )
    err.print(decision.describe(alert_id), highlight=False, soft_wrap=True, markup=False)


@app.command("ack")
def alerts_ack(
    alert_id: str,
    note: Annotated[str | None, typer.Option(help="Why, or what is being done")] = None,
) -> None:
    """Acknowledge an alert: someone is on it (escalation stops)."""
    _act(alert_id, "acknowledge", note)


@app.command("resolve")
def alerts_resolve(
    alert_id: str,
    note: Annotated[str | None, typer.Option(help="How it was resolved")] = None,
) -> None:
    """Resolve an alert, acknowledged or not."""
    _act(alert_id, "resolve", note)

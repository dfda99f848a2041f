"""``pulse managers``: fund managers and the syndicates they run."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import audited, database_url, err, fail, show

app = typer.Typer(no_args_is_help=True, help="Fund managers and the syndicates they run.")


@app.command("add")
def managers_add(
    name: Annotated[str, typer.Option(help="The manager's name")],
    phone: Annotated[str | None, typer.Option(help="E.164, e.g. +14155550123")] = None,
    email: Annotated[str | None, typer.Option(help="Email address")] = None,
    channels: Annotated[str, typer.Option(help="Comma-separated: sms, email")] = "sms,email",
) -> None:
    """Add a fund manager; prints the new manager's id alone."""
    from models.notification import ContactError
    from pipeline.notify.managers import add_manager

    try:
        manager_id = add_manager(database_url(), name, phone, email, channels)
    except ContactError as exc:
        fail(str(exc))
    audited("managers add", str(manager_id), channels=channels)
    print(manager_id)


@app.command("assign")
def managers_assign(
    manager_id: str,
    syndicate_id: str,
    level: Annotated[
        int,
        typer.Option(
            min=1, max=10, help="1 hears of every alert; N once it has been open N - 1 deadlines"
        ),
    ] = 1,
) -> None:
    """Make a manager responsible for a syndicate at an escalation level (its alerts reach them)."""
    from pipeline.notify.managers import assign

    assign(database_url(), manager_id, syndicate_id, level)
    audited("managers assign", manager_id, syndicate_id=syndicate_id, level=level)
    err.print(f"{manager_id} now manages {syndicate_id} at level {level}", markup=False)


@app.command("list")
def managers_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Fund managers, their channels and syndicates."""
    from pipeline.notify.managers import list_managers

    rows = list_managers(database_url())
    show(
        rows,
        as_json,
        "Fund managers",
        {
            "id": "id",
            "name": "name",
            "phone": "phone",
            "email": "email",
            "channels": "channels",
            "syndicates": "syndicates",
        },
    )

"""``pulse users``: users of the HTTP API and their roles."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import audited, database_url, err, fail, show

app = typer.Typer(no_args_is_help=True, help="Users of the HTTP API and their roles.")


@app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="admin, fund_manager, investor or ops")],
    manager_id: Annotated[
        str | None, typer.Option(help="The pools' manager id (fund_manager)")
    ] = None,
    investor_id: Annotated[str | None, typer.Option(help="The investor id (investor)")] = None,
) -> None:
    """Create a user of the HTTP API."""
    from models.access import Principal
    from pipeline.security.auth import create_user

    principal = Principal.define(username, role, manager_id, investor_id)
    create_user(database_url(), principal)
    audited("users create", username, role=role, manager_id=manager_id, investor_id=investor_id)
    err.print(f"created {username} ({role})")


@app.command("set-password")
def users_set_password(username: str) -> None:
    """Set a user's console password, read from standard input (one line); ends their sessions."""
    import sys

    from pipeline.security.sessions import InvalidPassword, set_password

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        ended = set_password(database_url(), username, password)
    except InvalidPassword as exc:
        fail(str(exc))
    audited("users set-password", username)
    err.print(f"password set for {username}" + (f"; {ended} sessions ended" if ended else ""))


@app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user: their tokens and API keys stop working within seconds."""
    from pipeline.security.auth import disable_user

    disable_user(database_url(), username)
    audited("users disable", username)
    err.print(f"disabled {username}")


@app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Users, their roles and scopes."""
    from pipeline.security.auth import list_users

    columns = ["username", "role", "manager_id", "investor_id", "created_at", "disabled_at"]
    show(list_users(database_url()), as_json, "Users", {c: c for c in columns})

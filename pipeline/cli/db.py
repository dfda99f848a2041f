"""``pulse db``: database migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import err, out, settings

app = typer.Typer(no_args_is_help=True, help="Database migrations.")


@app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (idempotent), as the schema owner (PULSE_MIGRATION_DATABASE_URL)."""
    from pipeline.platform.db import upgrade

    upgrade(settings().resolved_migration_url())
    out.print("database is up to date")


@app.command("grant")
def db_grant(role: Annotated[str, typer.Argument(help="The application's database role")]) -> None:
    """Give the application's role what it needs and no more: no DDL, audit log append-only."""
    from pipeline.platform.db import grant_app_role

    grant_app_role(settings().resolved_migration_url(), role)
    err.print(f"granted {role} the application's privileges")

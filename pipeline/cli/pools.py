"""``pulse pools``: investment pools."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import database_url, err, out

app = typer.Typer(no_args_is_help=True, help="Investment pools.")


@app.command("reconcile")
def pools_reconcile(pool_id: Annotated[str | None, typer.Argument()] = None) -> None:
    """Rebuild projections from the event log and ledger; exit 1 on any difference."""
    from pipeline.pools.reconcile import reconcile

    differences = reconcile(database_url(), pool_id)
    for line in differences:
        out.print(line, highlight=False)
    if differences:
        err.print(f"[red]{len(differences)} difference(s)[/red]")
        raise typer.Exit(1)
    out.print("clean: projections and ledger match the event log")

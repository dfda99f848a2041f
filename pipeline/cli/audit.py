"""``pulse audit``: the hash-chained audit log."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import database_url, err, out, show

app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")


@app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 naming each changed or removed row."""
    from pipeline.security.audit import verify

    count, problems, head = verify(database_url())
    for problem in problems:
        err.print(f"[red]tampered:[/red] {problem}", highlight=False)
    if problems:
        raise typer.Exit(1)
    out.print(f"audit log intact: {count} rows, head {head or '-'}", highlight=False)


@app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The newest audit log entries."""
    from pipeline.security.audit import recent

    columns = ["seq", "at", "actor", "role", "action", "target", "request_id", "outcome"]
    show(recent(database_url(), limit), as_json, "Audit log", {c: c for c in columns})

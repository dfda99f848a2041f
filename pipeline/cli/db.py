"""``pulse db``: database migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import err, out, settings, show

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


partitions_app = typer.Typer(
    no_args_is_help=True, help="The monthly partitions of transactions (as the schema owner)."
)
app.add_typer(partitions_app, name="partitions")


@partitions_app.command("ensure")
def partitions_ensure(
    months_ahead: Annotated[
        int, typer.Option(min=0, max=120, help="Months after this one to make now")
    ] = 3,
    first: Annotated[
        str | None,
        typer.Option("--from", help="Also make the months since this one, YYYY-MM (a backfill)"),
    ] = None,
) -> None:
    """Make this month's partition and the next N months' (what every worker also does hourly);
    rows of those months waiting in the default partition move into them."""
    from pipeline.ingest.history import ensure_partitions_sync, parse_month
    from pipeline.platform.db import connect

    since = None if first is None else parse_month(first)
    with connect(settings().resolved_migration_url(), autocommit=True) as conn:
        made = ensure_partitions_sync(conn, months_ahead, since)
    err.print(f"made {len(made)} partition(s)" + (f": {', '.join(made)}" if made else ""))


@partitions_app.command("list")
def partitions_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each partition of transactions with its months, rows and size; then the detached months."""
    from pipeline.ingest.history import archives, partitions

    url = settings().resolved_migration_url()
    found = [{**p, "archived": False} for p in partitions(url)]
    found += [
        {
            "partition": a["partition_name"],
            "bounds": f"detached {a['detached_at']:%Y-%m-%d}",
            "is_default": False,
            "row_count": a["row_count"],
            "bytes": None,
            "size": "",
            "archived": True,
        }
        for a in archives(url)
    ]
    show(
        found,
        as_json,
        "partitions of transactions",
        {"partition": "partition", "months": "bounds", "rows": "row_count", "size": "size"},
    )


@partitions_app.command("detach")
def partitions_detach(
    before: Annotated[str, typer.Option(help="Detach every month before this one, YYYY-MM")],
) -> None:
    """Detach old months for archiving: their tables stay, outside transactions, and their sums stay
    in the aggregates and the top-5. See OPERATIONS.md, 'Archiving old months'."""
    from pipeline.ingest.history import detach_before, parse_month

    month = parse_month(before)
    detached = detach_before(settings().resolved_migration_url(), month)
    for d in detached:
        out.print(f"detached {d['partition_name']} ({d['row_count']} rows)")
    err.print(f"detached {len(detached)} partition(s) before {month:%Y-%m}")


@app.command("rewind")
def db_rewind() -> None:
    """After restoring the database from a backup, with every worker stopped: rewind the workers'
    consumer group so they replay what the backup lacks (transactions after the newest offset it
    processed, pool commands and alerts from the start: both apply once by id), and rebuild the
    spike windows from the restored rows (the table's are ahead of them). Then start the workers."""
    import asyncio

    from pipeline.integrity import windows
    from pipeline.integrity.rewind import describe, resume_points, rewind
    from pipeline.platform.db import connect

    config = settings()
    with connect(config.resolved_database_url()) as conn:
        points = resume_points(conn)
        rebuilt = windows.rebuild(conn)
    for line in describe(asyncio.run(rewind(config, points))):
        out.print(line, highlight=False)
    err.print(
        f"consumer group {config.app_id} rewound to what the database holds; the spike windows"
        f" of {rebuilt} partition(s) are rebuilt from it by the workers"
    )

"""``pulse notifications``: SMS and email deliveries."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from pipeline.cli.common import database_url, fail, show

app = typer.Typer(no_args_is_help=True, help="SMS and email deliveries.")
# 'stopped': an SMS to a number its manager paused with STOP.
STATUSES = ("pending", "sending", "sent", "failed", "held", "digesting", "digested", "stopped")


@app.command("list")
def notifications_list(
    status: Annotated[str | None, typer.Option(help=f"one of {', '.join(STATUSES)}")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Deliveries and their outcomes."""
    from pipeline.notify.outbox import list_notifications
    from pipeline.platform.db import connect_async

    if status is not None and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}")

    async def query() -> list:
        async with await connect_async(database_url()) as conn:
            return await list_notifications(conn, status, limit)

    rows = asyncio.run(query())
    show(
        rows,
        as_json,
        "Notifications",
        {
            "created": "created_at",
            "channel": "channel",
            "status": "status",
            "attempts": "attempts",
            "syndicate": "syndicate_id",
            "kind": "kind",
            "provider id": "provider_message_id",
            "error": "last_error",
        },
    )

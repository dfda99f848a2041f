"""``pulse dlq``: dead-letter topics: look, fix, replay."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import err, settings, show

app = typer.Typer(no_args_is_help=True, help="Dead-letter topics: look, fix, replay.")


@app.command("list")
def dlq_list(
    topic: Annotated[
        str, typer.Option(help="transactions-dlq, internal-dlq or notifications-dlq")
    ] = "transactions-dlq",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Dead letters with their reasons, oldest first."""
    from pipeline.ingest.replay import read_dead_letters

    records = asyncio.run(read_dead_letters(settings().kafka_bootstrap(), topic))
    for r in records:
        r["value"] = r["value"].decode(errors="replace") if r["value"] is not None else None
    for r in records if not as_json else ():
        value = r["value"] or ""
        r["preview"] = value if len(value) <= 60 else value[:57] + "..."
    show(
        records,
        as_json,
        f"{topic}: {len(records)} dead letters",
        {
            "partition": "partition",
            "offset": "offset",
            "reason": "reason",
            "detail": "detail",
            "value": "preview",
        },
    )


@app.command("replay")
def dlq_replay(
    reason: Annotated[str | None, typer.Option(help="Only dead letters with this reason")] = None,
    fixed: Annotated[
        Path | None,
        typer.Option(
            "--file",
            exists=True,
            dir_okay=False,
            help="Publish these fixed messages (JSONL) instead",
        ),
    ] = None,
) -> None:
    """Re-publish dead letters (or their fixed versions) to transactions; safe to repeat."""
    from pipeline.devtools.produce import read_messages
    from pipeline.ingest.replay import replay, replay_dead_letters

    bootstrap = settings().kafka_bootstrap()
    if fixed is not None:
        count = asyncio.run(replay(bootstrap, list(read_messages(fixed))))
    else:
        count = asyncio.run(replay_dead_letters(bootstrap, reason))
    err.print(f"re-published {count} messages to transactions")

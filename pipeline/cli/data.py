"""Synthetic data: generate a dataset, produce a file to the transactions topic."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import err, parse_time, settings


def generate(
    out_file: Annotated[Path, typer.Option("--out", help="Output file: .jsonl or .csv")],
    investors: Annotated[int, typer.Option(min=1)] = 2_000,
    syndicates: Annotated[int, typer.Option(min=1)] = 300,
    transactions: Annotated[int, typer.Option(min=0)] = 50_000,
    seed: int = 1,
    start: Annotated[
        str | None,
        typer.Option(help="RFC 3339 start time (default: so that the data ends now)"),
    ] = None,
    rate: Annotated[
        float, typer.Option(min=0.001, help="Transactions per second of event time")
    ] = 50.0,
) -> None:
    """Write a reproducible synthetic dataset."""
    from pipeline.devtools.generate import GeneratorSpec, write
    from pipeline.devtools.generate import generate as run

    # Ending now by default: events dated ahead of the workers' clocks are dead-lettered (future_date).
    span = timedelta(seconds=transactions / rate)
    begin = datetime.now(UTC) - span if start is None else parse_time(start, "--start")
    spec = GeneratorSpec(investors, syndicates, transactions, seed, begin, rate)
    count = write(run(spec), out_file)
    err.print(f"wrote {count} transactions to {out_file}")


def produce(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Publish a JSONL or CSV file to the transactions topic."""
    from rich.progress import Progress

    from pipeline.devtools.produce import count_messages, read_messages
    from pipeline.devtools.produce import produce as run

    config = settings()
    bootstrap = config.kafka_bootstrap()
    total = count_messages(file)
    with Progress(console=err, transient=False) as progress:
        task = progress.add_task("producing", total=total)
        summary = asyncio.run(
            run(
                bootstrap,
                read_messages(file),
                config.topic_partitions,
                on_sent=lambda n: progress.advance(task, n),
            )
        )
    rate = summary.sent / summary.seconds if summary.seconds else 0.0
    err.print(
        f"sent {summary.sent}, failed {summary.failed}, in {summary.seconds:.1f} s ({rate:,.0f}/s)"
    )
    if summary.failed:
        raise typer.Exit(1)

"""The top investors."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from pipeline.cli.common import out, read_url


def top_investors(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The investors in the most distinct syndicates, with their total invested."""
    from pipeline.ingest.top_investors import top_investors as query

    rows = query(read_url(), limit)
    if as_json:
        print(orjson.dumps([r.to_json() for r in rows]).decode())
        return
    out.print(render_top_investors(rows))


def render_top_investors(rows) -> Table:  # type: ignore[no-untyped-def]
    table = Table(title="Top investors")
    table.add_column("#", justify="right")
    table.add_column("investor")
    table.add_column("syndicates", justify="right")
    table.add_column("total invested", justify="right")
    for rank, row in enumerate(rows, 1):
        table.add_row(
            str(rank), row.investor_id, str(row.syndicate_count), f"{row.total_invested:,.2f}"
        )
    return table

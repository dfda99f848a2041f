"""``pulse verify`` and ``pulse rebuild``: derived state against its source of truth."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from pipeline.cli.common import err, out, settings


class What(StrEnum):
    aggregates = "aggregates"
    windows = "windows"
    pools = "pools"
    alerts = "alerts"
    all = "all"


_REPAIRED = {
    "aggregates": "rows rewritten",
    "windows": "partitions rebuilt from PostgreSQL by their workers with their next batch",
    "pools": "pools rewritten from their events",
    "alerts": "alerts marked for the relay to publish again",
}


def _states(what: What) -> tuple[str, ...]:
    from pipeline.integrity.check import STATES

    return STATES if what is What.all else (what.value,)


def verify(
    as_json: Annotated[
        bool, typer.Option("--json", help="The differences as a JSON document")
    ] = False,
    what: Annotated[What, typer.Option(help="Which derived state to check")] = What.all,
) -> None:
    """Recompute every derived state from the source of truth (investor aggregates and the top-5,
    spike windows, pool projections and ledgers, alert publication); exit 1, naming each
    difference, if any disagrees."""
    from pipeline.integrity.check import verify as check

    states = _states(what)
    differences = check(settings(), states)
    if as_json:
        doc = {
            "ok": not differences,
            "checked": list(states),
            "differences": [d.to_json() for d in differences],
        }
        print(orjson.dumps(doc).decode())
    else:
        for d in differences:
            out.print(escape(str(d)), highlight=False)
        if not differences:
            out.print(f"clean: {', '.join(states)} agree with their sources")
    if differences:
        err.print(f"[red]{len(differences)} difference(s)[/red]")
        raise typer.Exit(1)


def rebuild(
    what: Annotated[What, typer.Option(help="Which derived state to repair")] = What.all,
) -> None:
    """Repair derived state from the source of truth, under the locks the workers take, while they
    run; then `pulse verify` agrees."""
    from pipeline.integrity.check import rebuild as repair

    for state, changed in repair(settings(), _states(what)).items():
        out.print(f"{state}: {changed} {_REPAIRED[state]}")

"""``pulse``: the one command-line interface of Syndicate Pulse, one module per command group."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from models.errors import PulseError
from pipeline.cli import (
    alerts,
    audit,
    backtest,
    data,
    db,
    dlq,
    integrity,
    investors,
    keys,
    local,
    managers,
    notifications,
    pools,
    run,
    syndicates,
    tokens,
    users,
)
from pipeline.cli.common import err

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
app.command()(run.worker)
app.command()(run.notifier)
app.command()(run.demo)
app.command()(data.generate)
app.command()(data.produce)
app.command("top-investors")(investors.top_investors)
app.command("backtest")(backtest.backtest)
app.command("verify")(integrity.verify)
app.command("rebuild")(integrity.rebuild)
for name, group in [
    ("local", local),
    ("db", db),
    ("syndicates", syndicates),
    ("alerts", alerts),
    ("managers", managers),
    ("notifications", notifications),
    ("pools", pools),
    ("dlq", dlq),
    ("users", users),
    ("tokens", tokens),
    ("keys", keys),
    ("audit", audit),
]:
    app.add_typer(group.app, name=name)


def main() -> None:
    """Entry point: a user's mistake or an unreachable service is one line, never a traceback."""
    import psycopg
    from aiokafka.errors import KafkaError

    try:
        app()
    except PulseError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    except (OSError, psycopg.OperationalError, KafkaError) as exc:
        text = escape(f"{type(exc).__name__}: {exc}".strip())
        err.print(f"[red]error:[/red] {text}", highlight=False)
        sys.exit(1)

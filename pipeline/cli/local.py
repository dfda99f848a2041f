"""``pulse local``: the embedded broker and PostgreSQL."""

from __future__ import annotations

import typer

from config import get_settings
from pipeline.cli.common import out

app = typer.Typer(no_args_is_help=True, help="The embedded broker and PostgreSQL.")


@app.command("up")
def local_up() -> None:
    """Start the embedded broker and PostgreSQL in the background (idempotent)."""
    from pipeline.devtools.local_stack import LocalStack

    info = LocalStack(get_settings().data_dir).up()
    out.print(f"broker   {info.kafka_url} (pid {info.broker_pid})")
    out.print(f"postgres {info.database_url} (pid {info.postgres_pid})")


@app.command("down")
def local_down() -> None:
    """Stop what `pulse local up` started."""
    from pipeline.devtools.local_stack import LocalStack

    stopped = LocalStack(get_settings().data_dir).down()
    out.print("stopped " + ", ".join(stopped) if stopped else "nothing was running")


@app.command("status")
def local_status() -> None:
    """Tell what runs."""
    from pipeline.devtools.local_stack import LocalStack

    for name, state in LocalStack(get_settings().data_dir).status().items():
        out.print(f"{name:9}{state}", highlight=False)


@app.command("env")
def local_env() -> None:
    """Print export lines pointing PULSE_* at the embedded stack."""
    from pipeline.devtools.local_stack import LocalStack

    info = LocalStack(get_settings().data_dir).require()
    print(f"export PULSE_KAFKA_URL='{info.kafka_url}'")
    print(f"export PULSE_DATABASE_URL='{info.database_url}'")

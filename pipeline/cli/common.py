"""What every command group shares: the consoles, failing with one line, tables or JSON, the settings
with the embedded stack's addresses filled in, and the audit trail of administrative commands."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import NoReturn

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from config import Settings, get_settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> NoReturn:
    # Escaped: a message quoting user input ("[/x]") is text, not markup for the console.
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@cache
def settings() -> Settings:
    """The settings; with no PULSE_KAFKA_URL or PULSE_DATABASE_URL, the running embedded stack's."""
    from pipeline.devtools.local_stack import with_embedded_defaults

    return with_embedded_defaults(get_settings())


def database_url() -> str:
    return settings().resolved_database_url()


def read_url() -> str:
    """The replica for read-only commands (PULSE_DATABASE_READ_URL), else the primary."""
    return settings().resolved_read_url()


def show(rows: list[dict], as_json: bool, title: str, columns: dict[str, str]) -> None:
    """Rows as a JSON array, or as a table of ``columns`` (heading → key)."""
    if as_json:
        print(orjson.dumps(rows).decode())
        return
    table = Table(title=title)
    for heading in columns:
        table.add_column(heading)
    for row in rows:
        table.add_row(*(_cell(row.get(key)) for key in columns.values()))
    out.print(table)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def parse_time(text: str, name: str) -> datetime:
    """An option's RFC 3339 instant (models.alert_status.parse_instant), or exit 1 saying why."""
    from models.alert_status import InvalidQuery, parse_instant

    try:
        moment = parse_instant(text, name)
    except InvalidQuery as exc:
        fail(str(exc))
    assert moment is not None  # text is given
    return moment


def audited(action: str, target: str, **detail: object) -> None:
    """Administrative commands leave a row in the audit log, as HTTP writes do."""
    from pipeline.security import audit

    audit.append_sync(database_url(), action, target, 0, **detail)


def actor() -> str:
    """Who acts through the CLI, as an alert's history names them: ``cli:<os user>``."""
    from pipeline.security import audit

    return f"cli:{audit.os_user()}"

"""``pulse``: the one command-line interface of Syndicate Pulse."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import orjson
import typer
from rich.console import Console
from rich.table import Table

from config import get_settings
from models.errors import PulseError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
local_app = typer.Typer(no_args_is_help=True, help="The embedded broker and PostgreSQL.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
syndicates_app = typer.Typer(no_args_is_help=True, help="Syndicate alert settings.")
alerts_app = typer.Typer(no_args_is_help=True, help="Alerts raised for fund managers.")
app.add_typer(local_app, name="local")
app.add_typer(db_app, name="db")
managers_app = typer.Typer(no_args_is_help=True, help="Fund managers and the syndicates they run.")
notifications_app = typer.Typer(no_args_is_help=True, help="SMS and email deliveries.")
app.add_typer(syndicates_app, name="syndicates")
app.add_typer(alerts_app, name="alerts")
app.add_typer(managers_app, name="managers")
app.add_typer(notifications_app, name="notifications")
pools_app = typer.Typer(no_args_is_help=True, help="Investment pools.")
app.add_typer(pools_app, name="pools")
dlq_app = typer.Typer(no_args_is_help=True, help="Dead-letter topics: look, fix, replay.")
app.add_typer(dlq_app, name="dlq")
users_app = typer.Typer(no_args_is_help=True, help="Users of the HTTP API and their roles.")
app.add_typer(users_app, name="users")
tokens_app = typer.Typer(no_args_is_help=True, help="Bearer tokens for the HTTP API.")
app.add_typer(tokens_app, name="tokens")
keys_app = typer.Typer(
    no_args_is_help=True,
    help="API keys for services, and the keys that encrypt personal data at rest.",
)
app.add_typer(keys_app, name="keys")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")
app.add_typer(audit_app, name="audit")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def _database_url() -> str:
    return get_settings().resolved_database_url()


@local_app.command("up")
def local_up() -> None:
    """Start the embedded broker and PostgreSQL in the background (idempotent)."""
    from pipeline.devtools.local_stack import LocalStack

    info = LocalStack(get_settings().data_dir).up()
    out.print(f"broker   {info.kafka_url} (pid {info.broker_pid})")
    out.print(f"postgres {info.database_url} (pid {info.postgres_pid})")


@local_app.command("down")
def local_down() -> None:
    """Stop what `pulse local up` started."""
    from pipeline.devtools.local_stack import LocalStack

    stopped = LocalStack(get_settings().data_dir).down()
    out.print("stopped " + ", ".join(stopped) if stopped else "nothing was running")


@local_app.command("status")
def local_status() -> None:
    """Tell what runs."""
    from pipeline.devtools.local_stack import LocalStack

    for name, state in LocalStack(get_settings().data_dir).status().items():
        out.print(f"{name:9}{state}", highlight=False)


@local_app.command("env")
def local_env() -> None:
    """Print export lines pointing PULSE_* at the embedded stack."""
    from pipeline.devtools.local_stack import LocalStack

    info = LocalStack(get_settings().data_dir).require()
    print(f"export PULSE_KAFKA_URL='{info.kafka_url}'")
    print(f"export PULSE_DATABASE_URL='{info.database_url}'")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (idempotent), as the schema owner (PULSE_MIGRATION_DATABASE_URL)."""
    from pipeline.platform.db import upgrade

    upgrade(get_settings().resolved_migration_url())
    out.print("database is up to date")


@db_app.command("grant")
def db_grant(role: Annotated[str, typer.Argument(help="The application's database role")]) -> None:
    """Give the application's role what it needs and no more: no DDL, audit log append-only."""
    from pipeline.platform.db import grant_app_role

    grant_app_role(get_settings().resolved_migration_url(), role)
    err.print(f"granted {role} the application's privileges")


@app.command()
def worker() -> None:
    """Run a stream-processing worker (the Faust app, with its web server)."""
    settings = get_settings()
    settings.resolved_kafka_url()
    settings.resolved_database_url()
    from pipeline.platform.faust_app import app as faust_app

    sys.argv = [
        sys.argv[0],
        "worker",
        "--loglevel",
        settings.log_level,
        "--web-port",
        str(settings.web_port),
    ]
    faust_app.main()


@app.command()
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
    begin = datetime.now(UTC) - span if start is None else _parse_time(start)
    spec = GeneratorSpec(investors, syndicates, transactions, seed, begin, rate)
    count = write(run(spec), out_file)
    err.print(f"wrote {count} transactions to {out_file}")


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{text!r} is not an RFC 3339 timestamp")
    if moment.tzinfo is None:
        fail(f"{text!r} has no UTC offset")
    return moment


@app.command()
def produce(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Publish a JSONL or CSV file to the transactions topic."""
    from rich.progress import Progress

    from pipeline.devtools.produce import count_messages, read_messages
    from pipeline.devtools.produce import produce as run

    settings = get_settings()
    bootstrap = settings.kafka_bootstrap()
    total = count_messages(file)
    with Progress(console=err, transient=False) as progress:
        task = progress.add_task("producing", total=total)
        summary = asyncio.run(
            run(
                bootstrap,
                read_messages(file),
                settings.topic_partitions,
                on_sent=lambda n: progress.advance(task, n),
            )
        )
    rate = summary.sent / summary.seconds if summary.seconds else 0.0
    err.print(
        f"sent {summary.sent}, failed {summary.failed}, in {summary.seconds:.1f} s ({rate:,.0f}/s)"
    )
    if summary.failed:
        raise typer.Exit(1)


@app.command("top-investors")
def top_investors(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The investors in the most distinct syndicates, with their total invested."""
    from pipeline.ingest.top_investors import top_investors as query

    rows = query(_database_url(), limit)
    if as_json:
        print(orjson.dumps([r.to_json() for r in rows]).decode())
        return
    out.print(render_top_investors(rows))


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


@syndicates_app.command("set")
def syndicates_set(
    syndicate_id: str,
    name: Annotated[str | None, typer.Option(help="Display name, used in alerts")] = None,
    threshold: Annotated[
        str | None, typer.Option(help="Large-transaction threshold, e.g. 25000.00")
    ] = None,
    spike_multiplier: Annotated[
        str | None, typer.Option(help="Spike at this many times the hourly average")
    ] = None,
    spike_min_count: Annotated[
        int | None, typer.Option(help="Fewest transactions in 5 minutes for a spike")
    ] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="Raise alerts for it")
    ] = None,
) -> None:
    """Create or change a syndicate's settings; running workers pick it up within seconds."""
    from pipeline.alerts.syndicates import SettingsError, SyndicateUpdate, set_syndicate

    try:
        row = set_syndicate(
            _database_url(),
            SyndicateUpdate(
                syndicate_id, name, threshold, spike_multiplier, spike_min_count, enabled
            ),
        )
    except SettingsError as exc:
        fail(str(exc))
    print(orjson.dumps(row).decode())


@syndicates_app.command("show")
def syndicates_show(
    syndicate_id: Annotated[str | None, typer.Argument()] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Stored settings (empty cells use the PULSE_* defaults)."""
    from pipeline.alerts.syndicates import show_syndicates

    rows = show_syndicates(_database_url(), syndicate_id)
    if syndicate_id is not None and not rows:
        fail(f"syndicate {syndicate_id!r} has no settings of its own (it uses the defaults)")
    if as_json:
        print(orjson.dumps(rows if syndicate_id is None else rows[0]).decode())
        return
    settings = get_settings()
    table = Table(title="Syndicates")
    for column in ("syndicate", "name", "threshold", "spike multiplier", "min count", "enabled"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["syndicate_id"],
            r["name"] or "",
            r["threshold"] or f"{settings.default_threshold} (default)",
            r["spike_multiplier"] or f"{settings.spike_multiplier} (default)",
            str(r["spike_min_count"] or f"{settings.spike_min_count} (default)"),
            "yes" if r["enabled"] else "no",
        )
    out.print(table)


@alerts_app.command("list")
def alerts_list(
    syndicate: Annotated[str | None, typer.Option(help="Only this syndicate")] = None,
    kind: Annotated[str | None, typer.Option(help="large_transaction or spike")] = None,
    since: Annotated[
        str | None, typer.Option(help="RFC 3339: alerts with event time at or after")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Alerts, oldest event first."""
    from pipeline.alerts.syndicates import list_alerts

    if kind is not None and kind not in ("large_transaction", "spike"):
        fail("--kind must be large_transaction or spike")
    rows = list_alerts(
        _database_url(), syndicate, kind, None if since is None else _parse_time(since), limit
    )
    show(
        rows,
        as_json,
        "Alerts",
        {
            "event time": "event_time",
            "kind": "kind",
            "syndicate": "syndicate_id",
            "transaction": "transaction_id",
            "observed": "observed",
            "expected": "expected",
            "ratio": "ratio",
        },
    )


@managers_app.command("add")
def managers_add(
    name: Annotated[str, typer.Option(help="The manager's name")],
    phone: Annotated[str | None, typer.Option(help="E.164, e.g. +14155550123")] = None,
    email: Annotated[str | None, typer.Option(help="Email address")] = None,
    channels: Annotated[str, typer.Option(help="Comma-separated: sms, email")] = "sms,email",
) -> None:
    """Add a fund manager; prints the new manager's id alone."""
    from models.notification import ContactError
    from pipeline.notify.managers import add_manager

    try:
        manager_id = add_manager(_database_url(), name, phone, email, channels)
    except ContactError as exc:
        fail(str(exc))
    _audited("managers add", str(manager_id), channels=channels)
    print(manager_id)


@managers_app.command("assign")
def managers_assign(manager_id: str, syndicate_id: str) -> None:
    """Make a manager responsible for a syndicate (its alerts reach them)."""
    from pipeline.notify.managers import assign

    assign(_database_url(), manager_id, syndicate_id)
    _audited("managers assign", manager_id, syndicate_id=syndicate_id)
    err.print(f"{manager_id} now manages {syndicate_id}")


@managers_app.command("list")
def managers_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Fund managers, their channels and syndicates."""
    from pipeline.notify.managers import list_managers

    rows = list_managers(_database_url())
    show(
        rows,
        as_json,
        "Fund managers",
        {
            "id": "id",
            "name": "name",
            "phone": "phone",
            "email": "email",
            "channels": "channels",
            "syndicates": "syndicates",
        },
    )


@notifications_app.command("list")
def notifications_list(
    status: Annotated[
        str | None, typer.Option(help="pending, sending, sent, failed, held, digested")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Deliveries and their outcomes."""
    from pipeline.notify.outbox import list_notifications
    from pipeline.platform.db import connect_async

    if status is not None and status not in (
        "pending",
        "sending",
        "sent",
        "failed",
        "held",
        "digested",
    ):
        fail("--status must be one of pending, sending, sent, failed, held, digested")

    async def query() -> list:
        async with await connect_async(_database_url()) as conn:
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


@pools_app.command("reconcile")
def pools_reconcile(pool_id: Annotated[str | None, typer.Argument()] = None) -> None:
    """Rebuild projections from the event log and ledger; exit 1 on any difference."""
    from pipeline.pools.reconcile import reconcile

    differences = reconcile(_database_url(), pool_id)
    for line in differences:
        out.print(line, highlight=False)
    if differences:
        err.print(f"[red]{len(differences)} difference(s)[/red]")
        raise typer.Exit(1)
    out.print("clean: projections and ledger match the event log")


@dlq_app.command("list")
def dlq_list(
    topic: Annotated[
        str, typer.Option(help="transactions-dlq, internal-dlq or notifications-dlq")
    ] = "transactions-dlq",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Dead letters with their reasons, oldest first."""
    from pipeline.ingest.replay import read_dead_letters

    records = asyncio.run(read_dead_letters(get_settings().kafka_bootstrap(), topic))
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


@dlq_app.command("replay")
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
    from pipeline.ingest.replay import read_dead_letters, replay

    bootstrap = get_settings().kafka_bootstrap()
    if fixed is not None:
        values = list(read_messages(fixed))
    else:
        records = asyncio.run(read_dead_letters(bootstrap, "transactions-dlq"))
        values = [
            r["value"] for r in records if r["value"] and (reason is None or r["reason"] == reason)
        ]
    count = asyncio.run(replay(bootstrap, values))
    err.print(f"re-published {count} messages to transactions")


@app.command()
def notifier() -> None:
    """Run the notification sender alone (it also runs inside `pulse worker` by default)."""
    import logging

    from pipeline.notify.sender import Notifier

    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper().replace("WARN", "WARNING").replace("CRIT", "CRITICAL")
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Notifier(settings).run())


def _audited(action: str, target: str, **detail: object) -> None:
    from pipeline.security import audit

    audit.append_sync(_database_url(), action, target, 0, **detail)


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="admin, fund_manager, investor or ops")],
    manager_id: Annotated[
        str | None, typer.Option(help="The pools' manager id (fund_manager)")
    ] = None,
    investor_id: Annotated[str | None, typer.Option(help="The investor id (investor)")] = None,
) -> None:
    """Create a user of the HTTP API."""
    from models.access import Principal
    from pipeline.security.auth import create_user

    principal = Principal.define(username, role, manager_id, investor_id)
    create_user(_database_url(), principal)
    _audited("users create", username, role=role, manager_id=manager_id, investor_id=investor_id)
    err.print(f"created {username} ({role})")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user: their tokens and API keys stop working within seconds."""
    from pipeline.security.auth import disable_user

    disable_user(_database_url(), username)
    _audited("users disable", username)
    err.print(f"disabled {username}")


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Users, their roles and scopes."""
    from pipeline.security.auth import list_users

    columns = ["username", "role", "manager_id", "investor_id", "created_at", "disabled_at"]
    show(list_users(_database_url()), as_json, "Users", {c: c for c in columns})


@tokens_app.command("issue")
def tokens_issue(
    username: str,
    ttl: Annotated[str, typer.Option(help="Lifetime: 90s, 15m, 1h, 7d (at most 30d)")] = "1h",
) -> None:
    """Print a bearer token for USERNAME, alone on stdout."""
    from pipeline.security.auth import get_user, issue_token, parse_ttl

    lifetime = parse_ttl(ttl)
    token = issue_token(get_settings(), get_user(_database_url(), username), lifetime)
    _audited("tokens issue", username, ttl_seconds=int(lifetime.total_seconds()))
    print(token)


@keys_app.command("create")
def keys_create(
    username: str,
    label: Annotated[str, typer.Option(help="What the key is for")] = "",
) -> None:
    """Create an API key for USERNAME; printed once, alone on stdout (only its hash is kept)."""
    from pipeline.security.auth import create_api_key, split_api_key

    key = create_api_key(_database_url(), username, label)
    _audited("keys create", username, key_id=split_api_key(key)[0], label=label)
    print(key)


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """API keys (never the keys themselves)."""
    from pipeline.security.auth import list_api_keys

    columns = ["key_id", "username", "label", "created_at", "revoked_at", "last_used_at"]
    show(list_api_keys(_database_url()), as_json, "API keys", {c: c for c in columns})


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key: refused within seconds."""
    from pipeline.security.auth import revoke_api_key

    revoke_api_key(_database_url(), key_id)
    _audited("keys revoke", key_id)
    err.print(f"revoked {key_id}")


@keys_app.command("new")
def keys_new() -> None:
    """Print a new encryption key to put first in PULSE_ENCRYPTION_KEYS (KMS-wrapped with
    PULSE_KMS_KEY_ID), then run pulse keys rotate."""
    from pipeline.security.keyring import new_encryption_key

    print(new_encryption_key(get_settings()))


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt all personal data under the first key of PULSE_ENCRYPTION_KEYS."""
    from pipeline.notify.managers import rotate_personal_data

    count = rotate_personal_data(_database_url())
    _audited("keys rotate", "fund_managers", rows=count)
    err.print(f"re-encrypted the personal data of {count} fund managers with the newest key")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 naming each changed or removed row."""
    from pipeline.security.audit import verify

    count, problems, head = verify(_database_url())
    for problem in problems:
        err.print(f"[red]tampered:[/red] {problem}", highlight=False)
    if problems:
        raise typer.Exit(1)
    out.print(f"audit log intact: {count} rows, head {head or '-'}", highlight=False)


@audit_app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The newest audit log entries."""
    from pipeline.security.audit import recent

    columns = ["seq", "at", "actor", "role", "action", "target", "request_id", "outcome"]
    show(recent(_database_url(), limit), as_json, "Audit log", {c: c for c in columns})


@app.command()
def demo(
    transactions: Annotated[int, typer.Option(min=1)] = 50_000,
    follow: Annotated[bool, typer.Option(help="Leave the stack and worker running")] = False,
) -> None:
    """The main job on the embedded stack, end to end."""
    from pipeline.devtools.demo import run_demo

    run_demo(transactions=transactions, follow=follow, console=err)


def main() -> None:
    """Entry point: a user's mistake or an unreachable service is one line, never a traceback."""
    import psycopg
    from aiokafka.errors import KafkaError

    try:
        app()
    except PulseError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)
    except (OSError, psycopg.OperationalError, KafkaError) as exc:
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc}".strip(), highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()

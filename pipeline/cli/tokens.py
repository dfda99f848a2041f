"""``pulse tokens``: bearer tokens for the HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import audited, database_url, settings

app = typer.Typer(no_args_is_help=True, help="Bearer tokens for the HTTP API.")


@app.command("issue")
def tokens_issue(
    username: str,
    ttl: Annotated[str, typer.Option(help="Lifetime: 90s, 15m, 1h, 7d (at most 30d)")] = "1h",
) -> None:
    """Print a bearer token for USERNAME, alone on stdout."""
    from pipeline.security.auth import get_user, issue_token, parse_ttl

    lifetime = parse_ttl(ttl)
    token = issue_token(settings(), get_user(database_url(), username), lifetime)
    audited("tokens issue", username, ttl_seconds=int(lifetime.total_seconds()))
    print(token)

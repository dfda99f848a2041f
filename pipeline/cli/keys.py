"""``pulse keys``: aPI keys for services, and the keys that encrypt personal data at rest."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import audited, database_url, err, settings, show

app = typer.Typer(
    no_args_is_help=True,
    help="API keys for services, and the keys that encrypt personal data at rest.",
)


@app.command("create")
def keys_create(
    username: str,
    label: Annotated[str, typer.Option(help="What the key is for")] = "",
) -> None:
    """Create an API key for USERNAME; printed once, alone on stdout (only its hash is kept)."""
    from pipeline.security.auth import create_api_key, split_api_key

    key = create_api_key(database_url(), username, label)
    audited("keys create", username, key_id=split_api_key(key)[0], label=label)
    print(key)


@app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """API keys (never the keys themselves)."""
    from pipeline.security.auth import list_api_keys

    columns = ["key_id", "username", "label", "created_at", "revoked_at", "last_used_at"]
    show(list_api_keys(database_url()), as_json, "API keys", {c: c for c in columns})


@app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key: refused within seconds."""
    from pipeline.security.auth import revoke_api_key

    revoke_api_key(database_url(), key_id)
    audited("keys revoke", key_id)
    err.print(f"revoked {key_id}")


@app.command("new")
def keys_new() -> None:
    """Print a new encryption key to put first in PULSE_ENCRYPTION_KEYS (KMS-wrapped with
    PULSE_KMS_KEY_ID), then run pulse keys rotate."""
    from pipeline.security.keyring import new_encryption_key

    print(new_encryption_key(settings()))


@app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt all personal data under the first key of PULSE_ENCRYPTION_KEYS."""
    from pipeline.notify.managers import rotate_personal_data

    count = rotate_personal_data(database_url())
    audited("keys rotate", "fund_managers", rows=count)
    err.print(f"re-encrypted the personal data of {count} fund managers with the newest key")

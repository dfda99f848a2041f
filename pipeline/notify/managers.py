"""Fund managers and the syndicates they run: the CLI's read and write side."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from models.errors import PulseError
from models.notification import Channel, parse_channels, validate_email, validate_phone
from pipeline.platform.db import connect
from pipeline.platform.queries import rows_sync, run_sync
from pipeline.security import pii


def reveal(value: str | None) -> str | None:
    return pii.default().reveal(value)


class UnknownManager(PulseError):
    """No fund manager has that id."""


def add_manager(
    database_url: str,
    name: str,
    phone: str | None,
    email: str | None,
    channels: str,
    cipher: pii.Pii | None = None,
) -> uuid.UUID:
    if not name.strip():
        raise PulseError("--name must not be empty")
    wanted = parse_channels(channels)
    if phone is not None:
        validate_phone(phone)
    if email is not None:
        validate_email(email)
    if Channel.SMS in wanted and phone is None:
        raise PulseError("the sms channel needs --phone")
    if Channel.EMAIL in wanted and email is None:
        raise PulseError("the email channel needs --email")
    protect = (cipher or pii.default()).protect
    manager_id = uuid.uuid4()
    with connect(database_url) as conn:
        run_sync(
            conn,
            "notify/add_manager",
            manager_id=manager_id,
            name=protect(name.strip()),
            phone=protect(phone),
            email=protect(email),
            channels=[c.value for c in wanted],
        )
    return manager_id


def assign(database_url: str, manager_id: str, syndicate_id: str, level: int = 1) -> None:
    """Make a manager responsible for a syndicate at an escalation level (again: a new level)."""
    try:
        parsed = uuid.UUID(manager_id)
    except ValueError:
        raise UnknownManager(f"{manager_id!r} is not a manager id") from None
    with connect(database_url) as conn:
        try:
            run_sync(
                conn, "notify/assign", syndicate_id=syndicate_id, manager_id=parsed, level=level
            )
        except psycopg.errors.ForeignKeyViolation:
            raise UnknownManager(f"no fund manager with id {manager_id}") from None


def list_managers(database_url: str) -> list[dict[str, Any]]:
    with connect(database_url) as conn:
        managers = rows_sync(conn, "notify/list_managers")
    return [
        {
            **r,
            "id": str(r["id"]),
            **{k: reveal(r[k]) for k in ("name", "phone", "email")},
            "channels": list(r["channels"]),
            "syndicates": list(r["syndicates"]),
            "levels": dict(r["levels"]),
        }
        for r in managers
    ]


def rotate_personal_data(database_url: str) -> int:
    """Re-encrypt every manager's personal data under the newest key; returns the rows rewritten."""
    cipher = pii.default()
    with connect(database_url) as conn:
        managers = rows_sync(conn, "notify/personal_data")
        for r in managers:
            run_sync(
                conn,
                "notify/rewrite_personal_data",
                manager_id=r["manager_id"],
                **{k: cipher.rotate(r[k]) for k in ("name", "phone", "email")},
            )
    return len(managers)

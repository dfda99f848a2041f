"""Fund managers and the syndicates they run: the CLI's read and write side."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from models.errors import PulseError
from models.notification import Channel, parse_channels, validate_email, validate_phone
from pipeline.platform.db import connect
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
        conn.execute(
            "INSERT INTO fund_managers (manager_id, name, phone, email, channels) VALUES (%s, %s, %s, %s, %s)",
            (
                manager_id,
                protect(name.strip()),
                protect(phone),
                protect(email),
                [c.value for c in wanted],
            ),
        )
    return manager_id


def assign(database_url: str, manager_id: str, syndicate_id: str) -> None:
    try:
        parsed = uuid.UUID(manager_id)
    except ValueError:
        raise UnknownManager(f"{manager_id!r} is not a manager id") from None
    with connect(database_url) as conn:
        try:
            conn.execute(
                "INSERT INTO syndicate_managers (syndicate_id, manager_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (syndicate_id, parsed),
            )
        except psycopg.errors.ForeignKeyViolation:
            raise UnknownManager(f"no fund manager with id {manager_id}") from None


def list_managers(database_url: str) -> list[dict[str, Any]]:
    with connect(database_url) as conn:
        rows = conn.execute(
            "SELECT m.manager_id, m.name, m.phone, m.email, m.channels,"
            " coalesce(array_agg(sm.syndicate_id ORDER BY sm.syndicate_id) FILTER (WHERE sm.syndicate_id IS NOT NULL), '{}')"
            " FROM fund_managers m LEFT JOIN syndicate_managers sm USING (manager_id)"
            " GROUP BY m.manager_id ORDER BY m.created_at, m.manager_id"
        ).fetchall()
    return [
        {
            "id": str(r[0]),
            "name": reveal(r[1]),
            "phone": reveal(r[2]),
            "email": reveal(r[3]),
            "channels": list(r[4]),
            "syndicates": list(r[5]),
        }
        for r in rows
    ]


def rotate_personal_data(database_url: str) -> int:
    """Re-encrypt every manager's personal data under the newest key; returns the rows rewritten."""
    cipher = pii.default()
    with connect(database_url) as conn:
        rows = conn.execute(
            "SELECT manager_id, name, phone, email FROM fund_managers FOR UPDATE"
        ).fetchall()
        for manager_id, name, phone, email in rows:
            conn.execute(
                "UPDATE fund_managers SET name = %s, phone = %s, email = %s WHERE manager_id = %s",
                (cipher.rotate(name), cipher.rotate(phone), cipher.rotate(email), manager_id),
            )
    return len(rows)

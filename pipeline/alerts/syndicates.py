"""Syndicate settings and alerts: the read and write side the CLI uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from models.money import MoneyError, parse_amount
from pipeline.platform.db import connect, iso


class SettingsError(ValueError):
    """A syndicate setting that cannot be stored."""


@dataclass
class SyndicateUpdate:
    syndicate_id: str
    name: str | None = None
    threshold: str | None = None
    spike_multiplier: str | None = None
    spike_min_count: int | None = None
    enabled: bool | None = None


def set_syndicate(database_url: str, update: SyndicateUpdate) -> dict[str, Any]:
    """Create or change a syndicate's settings; options left out keep their value."""
    threshold = None
    if update.threshold is not None:
        try:
            threshold = parse_amount(update.threshold)
        except MoneyError as exc:
            raise SettingsError(f"--threshold: {exc}") from None
    multiplier = None
    if update.spike_multiplier is not None:
        try:
            multiplier = Decimal(update.spike_multiplier)
        except ArithmeticError:
            raise SettingsError(
                f"--spike-multiplier {update.spike_multiplier!r} is not a number"
            ) from None
        if not multiplier.is_finite() or multiplier <= 0 or multiplier >= 1_000_000:
            raise SettingsError("--spike-multiplier must be greater than 0 and below 1,000,000")
        multiplier = multiplier.quantize(Decimal("0.0001"))
    if update.spike_min_count is not None and update.spike_min_count < 1:
        raise SettingsError("--spike-min-count must be at least 1")
    with connect(database_url) as conn:
        conn.execute(
            """
            INSERT INTO syndicates (syndicate_id, name, threshold_amount, spike_multiplier, spike_min_count, enabled)
            VALUES (%(id)s, %(name)s, %(threshold)s, %(multiplier)s, %(min_count)s, coalesce(%(enabled)s, true))
            ON CONFLICT (syndicate_id) DO UPDATE SET
                name = coalesce(%(name)s, syndicates.name),
                threshold_amount = coalesce(%(threshold)s, syndicates.threshold_amount),
                spike_multiplier = coalesce(%(multiplier)s, syndicates.spike_multiplier),
                spike_min_count = coalesce(%(min_count)s, syndicates.spike_min_count),
                enabled = coalesce(%(enabled)s, syndicates.enabled),
                updated_at = now()
            """,
            {
                "id": update.syndicate_id,
                "name": update.name,
                "threshold": threshold,
                "multiplier": multiplier,
                "min_count": update.spike_min_count,
                "enabled": update.enabled,
            },
        )
    return show_syndicates(database_url, update.syndicate_id)[0]


def show_syndicates(database_url: str, syndicate_id: str | None = None) -> list[dict[str, Any]]:
    """Stored settings; ``None`` values mean the PULSE_* default applies."""
    query = (
        "SELECT syndicate_id, name, threshold_amount, spike_multiplier, spike_min_count, enabled, updated_at"
        " FROM syndicates"
    )
    params: tuple[Any, ...] = ()
    if syndicate_id is not None:
        query += " WHERE syndicate_id = %s"
        params = (syndicate_id,)
    with connect(database_url) as conn:
        rows = conn.execute(query + " ORDER BY syndicate_id", params).fetchall()
    return [
        {
            "syndicate_id": r[0],
            "name": r[1],
            "threshold": None if r[2] is None else str(r[2]),
            "spike_multiplier": None if r[3] is None else str(r[3].normalize()),
            "spike_min_count": r[4],
            "enabled": r[5],
            "updated_at": r[6].isoformat(),
        }
        for r in rows
    ]


def list_alerts(
    database_url: str,
    syndicate_id: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    clauses, params = [], []
    if syndicate_id is not None:
        clauses.append("syndicate_id = %s")
        params.append(syndicate_id)
    if kind is not None:
        clauses.append("kind = %s")
        params.append(kind)
    if since is not None:
        clauses.append("event_time >= %s")
        params.append(since)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    with connect(database_url) as conn:
        rows = conn.execute(
            "SELECT alert_id, kind, syndicate_id, transaction_id, observed, expected, ratio, window_start,"
            f" window_end, event_time, detected_at, details FROM alerts {where}"
            " ORDER BY event_time, alert_id LIMIT %s",
            (*params, limit),
        ).fetchall()

    return [
        {
            "alert_id": str(r[0]),
            "kind": r[1],
            "syndicate_id": r[2],
            "transaction_id": r[3],
            "observed": str(r[4]),
            "expected": str(r[5]),
            "ratio": None if r[6] is None else str(r[6]),
            "window_start": iso(r[7]),
            "window_end": iso(r[8]),
            "event_time": iso(r[9]),
            "detected_at": iso(r[10]),
            "details": r[11],
        }
        for r in rows
    ]

"""Syndicate settings and alerts: the read and write side the CLI uses."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from models.alert_status import MAX_ESCALATE_AFTER
from models.anomaly import InvalidRule
from models.backtest import Overrides
from pipeline.platform.db import connect
from pipeline.platform.queries import rows_sync, run_sync


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
    escalate_after: int | None = None
    spike_evidence: str | None = None


def set_syndicate(database_url: str, update: SyndicateUpdate) -> dict[str, Any]:
    """Create or change a syndicate's settings; options left out keep their value."""
    try:
        # The same parsing as a backtest's candidate settings, so what previews is what saves.
        parsed = Overrides.parse(
            update.threshold,
            update.spike_multiplier,
            update.spike_min_count,
            lambda field: "--" + field.replace("_", "-"),
            update.spike_evidence,
        )
    except InvalidRule as exc:
        raise SettingsError(str(exc)) from None
    multiplier = parsed.spike_multiplier
    if multiplier is not None:
        multiplier = multiplier.quantize(Decimal("0.0001"))  # NUMERIC(10, 4)
    if update.escalate_after is not None and not 0 <= update.escalate_after <= MAX_ESCALATE_AFTER:
        raise SettingsError(f"--escalate-after must be from 0 to {MAX_ESCALATE_AFTER} seconds")
    with connect(database_url) as conn:
        run_sync(
            conn,
            "alerts/set_syndicate",
            id=update.syndicate_id,
            name=update.name,
            threshold=parsed.threshold,
            multiplier=multiplier,
            min_count=parsed.spike_min_count,
            evidence=parsed.spike_evidence,
            enabled=update.enabled,
            escalate_after=update.escalate_after,
        )
    return show_syndicates(database_url, update.syndicate_id)[0]


def show_syndicates(database_url: str, syndicate_id: str | None = None) -> list[dict[str, Any]]:
    """Stored settings; ``None`` values mean the PULSE_* default applies."""
    with connect(database_url) as conn:
        stored = rows_sync(conn, "alerts/syndicates", syndicate_id=syndicate_id)
    return [
        {
            **r,
            "threshold": None if r["threshold"] is None else str(r["threshold"]),
            "spike_multiplier": None
            if r["spike_multiplier"] is None
            else str(r["spike_multiplier"].normalize()),
            "spike_evidence": None if r["spike_evidence"] is None else str(r["spike_evidence"]),
            "updated_at": r["updated_at"].isoformat(),
        }
        for r in stored
    ]

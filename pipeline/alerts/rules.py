"""Each syndicate's alert rules, read from PostgreSQL and refreshed while the worker runs."""

from __future__ import annotations

from decimal import Decimal

import psycopg

from config import Settings
from models.anomaly import SyndicateRules

_SELECT = "SELECT syndicate_id, name, threshold_amount, spike_multiplier, spike_min_count, enabled FROM syndicates"


class RulesCache:
    """Rules per syndicate; a syndicate without its own row (or a NULL setting) uses the defaults.

    Every batch asks PostgreSQL whether the settings changed (one row, moved by a trigger in every
    changing transaction, so it only moves forward and never misses a change) and reloads them if so: a transaction produced after ``pulse syndicates set`` returned is judged by the new
    settings, on every running worker, without a restart.
    """

    def __init__(self, settings: Settings) -> None:
        self.defaults = SyndicateRules(
            threshold=settings.default_threshold,
            spike_multiplier=settings.spike_multiplier,
            spike_min_count=settings.spike_min_count,
        )
        self._rules: dict[str, SyndicateRules] = {}
        self._version: int | None = None

    def get(self, syndicate_id: str) -> SyndicateRules:
        return self._rules.get(syndicate_id, self.defaults)

    def name(self, syndicate_id: str) -> str | None:
        rules = self._rules.get(syndicate_id)
        return rules.name if rules else None

    async def refresh(self, conn: psycopg.AsyncConnection) -> None:
        row = await (
            await conn.execute("SELECT version FROM syndicate_settings_version")
        ).fetchone()
        version = row[0] if row else None
        if version is not None and version == self._version:
            return
        rows = await (await conn.execute(_SELECT)).fetchall()
        self._rules = {r[0]: self.merge(*r[1:]) for r in rows}
        self._version = version

    def merge(
        self,
        name: str | None,
        threshold: Decimal | None,
        multiplier: Decimal | None,
        min_count: int | None,
        enabled: bool,
    ) -> SyndicateRules:
        d = self.defaults
        return SyndicateRules(
            threshold=d.threshold if threshold is None else threshold,
            spike_multiplier=d.spike_multiplier if multiplier is None else multiplier,
            spike_min_count=d.spike_min_count if min_count is None else min_count,
            enabled=enabled,
            name=name,
        )

"""Each syndicate's alert rules, read from PostgreSQL and refreshed while the worker runs."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import psycopg

from config import Settings
from models.anomaly import SyndicateRules
from pipeline.platform.queries import row, rows


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
            spike_evidence=settings.spike_evidence,
        )
        self._rules: dict[str, SyndicateRules] = {}
        self._version: int | None = None

    def get(self, syndicate_id: str) -> SyndicateRules:
        return self._rules.get(syndicate_id, self.defaults)

    def name(self, syndicate_id: str) -> str | None:
        rules = self._rules.get(syndicate_id)
        return rules.name if rules else None

    async def refresh(self, conn: psycopg.AsyncConnection) -> None:
        current = await row(conn, "alerts/settings_version")
        version = current["version"] if current else None
        if version is not None and version == self._version:
            return
        self._rules = self.rules_from(await rows(conn, "alerts/rules"))
        self._version = version

    def rules_from(self, stored: Iterable[dict[str, Any]]) -> dict[str, SyndicateRules]:
        """Each syndicate's rules from its rows of ``alerts/rules``, the defaults filling gaps."""
        return {
            r["syndicate_id"]: self.merge(
                r["name"],
                r["threshold_amount"],
                r["spike_multiplier"],
                r["spike_min_count"],
                r["enabled"],
                r["spike_evidence"],
            )
            for r in stored
        }

    def merge(
        self,
        name: str | None,
        threshold: Decimal | None,
        multiplier: Decimal | None,
        min_count: int | None,
        enabled: bool,
        evidence: Decimal | None = None,
    ) -> SyndicateRules:
        d = self.defaults
        return SyndicateRules(
            threshold=d.threshold if threshold is None else threshold,
            spike_multiplier=d.spike_multiplier if multiplier is None else multiplier,
            spike_min_count=d.spike_min_count if min_count is None else min_count,
            enabled=enabled,
            name=name,
            spike_evidence=d.spike_evidence if evidence is None else evidence,
        )

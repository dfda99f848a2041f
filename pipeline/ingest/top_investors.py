"""Read-side queries for the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sql
from pipeline.platform.db import connect


@dataclass(frozen=True)
class TopInvestor:
    investor_id: str
    syndicate_count: int
    total_invested: Decimal

    def to_json(self) -> dict[str, object]:
        return {
            "investor_id": self.investor_id,
            "syndicate_count": self.syndicate_count,
            "total_invested": str(self.total_invested),
        }


def top_investors(database_url: str, limit: int = 5) -> list[TopInvestor]:
    with connect(database_url) as conn:
        rows = conn.execute(sql.load("top_investors"), {"limit": limit}).fetchall()
    return [TopInvestor(r[0], r[1], r[2]) for r in rows]


def counts(database_url: str) -> dict[str, int]:
    with connect(database_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM dead_letters),"
            " (SELECT count(*) FROM investor_totals)"
        ).fetchone()
    assert row is not None
    return {"transactions": row[0], "dead_letters": row[1], "investors": row[2]}

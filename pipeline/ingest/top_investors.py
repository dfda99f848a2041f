"""Read-side queries for the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pipeline.platform.db import connect
from pipeline.platform.queries import rows_sync


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
        ranked = rows_sync(conn, "ingest/top_investors", limit=limit)
    return [TopInvestor(**r) for r in ranked]


def counts(database_url: str) -> dict[str, int]:
    with connect(database_url) as conn:
        return rows_sync(conn, "ingest/counts")[0]

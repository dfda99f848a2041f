"""An independent computation of what the pipeline must produce, from the input alone.

Deliberately shares no code with the pipeline: stdlib json and Decimal only.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class InvestorTotals:
    syndicates: set[str] = field(default_factory=set)
    total: Decimal = Decimal("0")
    count: int = 0


def first_wins(records: list[dict]) -> dict[str, dict]:
    """transaction_id -> the first record with that id, in the order given."""
    first: dict[str, dict] = {}
    for record in records:
        first.setdefault(str(record["transaction_id"]), record)
    return first


def investor_totals(records: list[dict]) -> dict[str, InvestorTotals]:
    totals: dict[str, InvestorTotals] = defaultdict(InvestorTotals)
    for record in first_wins(records).values():
        entry = totals[str(record["investor_id"])]
        entry.syndicates.add(str(record["syndicate_id"]))
        entry.total += Decimal(str(record["transaction_amount"]))
        entry.count += 1
    return dict(totals)


def top(records: list[dict], limit: int = 5) -> list[dict]:
    ranked = sorted(
        investor_totals(records).items(),
        key=lambda kv: (-len(kv[1].syndicates), -kv[1].total, kv[0]),
    )
    return [
        {"investor_id": k, "syndicate_count": len(v.syndicates), "total_invested": f"{v.total:.2f}"}
        for k, v in ranked[:limit]
    ]


def parse(messages: list[bytes]) -> list[dict]:
    return [json.loads(m) for m in messages]

"""Synthetic, realistic transactions: skewed (a few investors in many syndicates), reproducible by seed."""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson

from models.transaction import FIELDS


@dataclass(frozen=True)
class GeneratorSpec:
    investors: int
    syndicates: int
    transactions: int
    seed: int
    start: datetime
    rate: float  # transactions per second of event time


def generate(spec: GeneratorSpec) -> Iterator[dict[str, str]]:
    rng = random.Random(spec.seed)
    # Zipf-like activity: investor k is chosen with weight 1 / (k + 1).
    weights = [1.0 / (k + 1) for k in range(spec.investors)]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    portfolios: dict[int, list[int]] = {}
    moment = spec.start
    for i in range(spec.transactions):
        investor = rng.choices(range(spec.investors), cum_weights=cumulative)[0]
        portfolio = portfolios.get(investor)
        if portfolio is None:
            # Breadth is skewed too: most investors back a handful of syndicates.
            breadth = max(1, min(spec.syndicates, int(spec.syndicates * rng.random() ** 4)))
            portfolio = portfolios[investor] = rng.sample(range(spec.syndicates), breadth)
        syndicate = rng.choice(portfolio)
        # Median 1,000.00; about 1 in 1,000 above the default 10,000.00 alert threshold.
        cents = max(100, int(math.exp(rng.gauss(math.log(1_000), 0.75)) * 100))
        moment += timedelta(seconds=rng.expovariate(spec.rate))
        yield {
            "transaction_id": f"tx-{spec.seed}-{i:09d}",
            "investor_id": f"inv-{investor:06d}",
            "syndicate_id": f"syn-{syndicate:05d}",
            "transaction_amount": str(Decimal(cents).scaleb(-2)),
            "transaction_date": moment.isoformat(timespec="microseconds"),
            "currency": "USD",
        }


def write(records: Iterator[dict[str, str]], out: Path) -> int:
    """Write JSONL, or CSV when the file name ends in .csv; returns the count."""
    count = 0
    with out.open("w", newline="") as fh:
        if out.suffix.lower() == ".csv":
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            for record in records:
                writer.writerow(record)
                count += 1
        else:
            for record in records:
                fh.write(orjson.dumps(record).decode())
                fh.write("\n")
                count += 1
    return count

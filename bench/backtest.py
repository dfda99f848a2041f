"""Backtest speed: stored transactions replayed through the rules (`pulse backtest`), per million.

The rows go straight into the real `transactions` table (as the top-5 benchmark's fast loader does);
the backtest then reads and replays all of them, with no overrides and with candidate settings.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from decimal import Decimal

import psycopg

from bench.common import bench_stack, load_rows, record
from config import Settings
from models.backtest import Overrides
from pipeline.alerts.backtest import backtest
from pipeline.platform import db


def load(database_url: str, n: int, syndicates: int) -> None:
    load_rows(database_url, n, investors=200_000, syndicates=syndicates)
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE transactions")


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--syndicates", type=int, default=2_000)
    parser.add_argument("--processes", type=int, default=min(4, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    with bench_stack() as stack:
        load(stack.database_url, args.transactions, args.syndicates)
        settings = Settings()
        timings = {}
        for label, overrides, processes in (
            ("as_live_one_process", Overrides(), 1),
            ("as_live", Overrides(), args.processes),
            ("candidate", Overrides(Decimal("5000.00"), Decimal(3), 3), args.processes),
        ):
            began = time.perf_counter()
            result = backtest(stack.database_url, settings, start, end, None, overrides, processes)
            timings[label] = (round(time.perf_counter() - began, 2), len(result.alerts))
    out = {
        "transactions": args.transactions,
        "syndicates": args.syndicates,
        "processes": args.processes,
        "seconds_as_live_one_process": timings["as_live_one_process"][0],
        "seconds_as_live": timings["as_live"][0],
        "alerts_as_live": timings["as_live"][1],
        "seconds_candidate": timings["candidate"][0],
        "alerts_candidate": timings["candidate"][1],
    }
    record("backtest", out)
    return out


if __name__ == "__main__":
    main()

"""Replica lag under ingest: a streaming standby of the embedded PostgreSQL (as
tests/integration/test_replica.py starts one) while one worker stores already-produced
transactions at full speed. Every 100 ms the primary's WAL position is taken, and the time until the
standby has replayed it is the lag a reader of PULSE_DATABASE_READ_URL sees then."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

from bench.common import bench_stack, messages, pipeline_rate, record
from pipeline.devtools.local_stack import POSTGRES_FAST_SHUTDOWN, start_replica, stop_process
from pipeline.devtools.produce import produce
from pipeline.platform import db


def sample_lag(primary: str, replica: str, stop: threading.Event) -> list[float]:
    """Seconds from a WAL position on the primary to its replay on the standby, every 100 ms."""
    lags: list[float] = []
    with db.connect(primary, autocommit=True) as p, db.connect(replica, autocommit=True) as r:
        while not stop.is_set():
            taken = time.perf_counter()
            row = p.execute("SELECT pg_current_wal_lsn()").fetchone()
            lsn = row[0] if row else None
            while True:
                done = r.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()
                if done and done[0]:
                    break
                time.sleep(0.001)
            lags.append(time.perf_counter() - taken)
            time.sleep(max(0.0, 0.1 - (time.perf_counter() - taken)))
    return lags


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args(argv)
    values = messages(args.messages)
    with bench_stack() as stack:
        # The bench's database is the server's own: the standby's URL names the same one.
        replica, replica_pid = start_replica(stack.database_url, stack.root / "replica")
        try:
            asyncio.run(produce(stack.bootstrap, iter(values), 4))
            stop = threading.Event()
            lags: list[float] = []
            sampler = threading.Thread(
                target=lambda: lags.extend(sample_lag(stack.database_url, replica, stop))
            )
            sampler.start()
            rate = pipeline_rate(stack, len(values))
            stop.set()
            sampler.join()
        finally:
            stop_process(replica_pid, POSTGRES_FAST_SHUTDOWN)
    ms = sorted(1000 * lag for lag in lags)
    result = {
        "messages": len(values),
        "ingest_per_s": round(rate),
        "lag_samples": len(ms),
        "replica_lag_ms_p50": round(statistics.median(ms), 1),
        "replica_lag_ms_p99": round(statistics.quantiles(ms, n=100)[98], 1),
        "replica_lag_ms_max": round(ms[-1], 1),
    }
    record("replica", result)
    return result


if __name__ == "__main__":
    main()

"""Recovery after a SIGKILL: the time from starting a replacement worker to its first new row in
PostgreSQL, with a backlog waiting. Five kills; the median is the number that counts.

The replacement starts as soon as the killed worker is gone, on the same data directory (a restart
on the same machine: RocksDB holds the tables up to their persisted offsets) or, with ``--fresh``,
on a new one (another machine: the tables restore from their changelogs alone).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench.common import bench_stack, messages, record, stop_worker
from pipeline.devtools.produce import produce


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--messages", type=int, default=400_000)
    parser.add_argument("--run-seconds", type=float, default=3.0, help="work before each kill")
    parser.add_argument("--fresh", action="store_true", help="each replacement on a new data dir")
    args = parser.parse_args(argv)
    values = messages(args.messages)
    seconds: list[float] = []
    with bench_stack() as stack:
        asyncio.run(produce(stack.bootstrap, iter(values), 4))
        worker = stack.start_worker("worker-0")
        try:
            for kill in range(args.kills):
                before = _wait_for_rows(stack, stack.count() + 1, 120)
                time.sleep(args.run_seconds)
                worker.kill()
                worker.wait(10)
                stored = stack.count()
                if stored >= len(values):
                    raise SystemExit("the backlog ran out: use more --messages")
                name = f"worker-{kill + 1}" if args.fresh else "worker-0"
                started = time.monotonic()
                worker = stack.start_worker(name)
                _wait_for_rows(stack, stored + 1, 120)
                seconds.append(time.monotonic() - started)
                print(
                    f"kill {kill + 1}: first new row {seconds[-1]:.1f} s after the start "
                    f"({before} rows before the kill window)",
                    flush=True,
                )
        finally:
            stop_worker(worker)
    result = {
        "kills": len(seconds),
        "data_dir": "fresh" if args.fresh else "kept",
        "seconds_to_first_new_row": [round(s, 2) for s in seconds],
        "median_seconds": round(statistics.median(seconds), 2),
        "max_seconds": round(max(seconds), 2),
    }
    record("recovery_fresh" if args.fresh else "recovery", result)
    return result


def _wait_for_rows(stack, target: int, timeout: float) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = stack.count()
        if n >= target:
            return n
        time.sleep(0.05)
    raise SystemExit(f"no new row within {timeout:.0f} s")


if __name__ == "__main__":
    main()

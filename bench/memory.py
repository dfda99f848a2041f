"""Worker memory over a long run: RSS sampled every second while it ingests 1M messages.

The spike windows hold every event of the last ~67 minutes of event time per syndicate, so memory grows until
they are full; the stream's event rate (20/s) fills them within the first 8% of the run, the warm-up that the
flatness is measured after.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bench.common import bench_stack, record, stop_worker
from pipeline.devtools.generate import GeneratorSpec, generate
from pipeline.devtools.produce import produce


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument(
        "--warm-up", type=float, default=0.2, help="fraction of the run before measuring"
    )
    args = parser.parse_args(argv)
    spec = GeneratorSpec(
        20_000, 2_000, args.messages, 5, datetime(2026, 3, 1, tzinfo=UTC), rate=20.0
    )
    values = [orjson.dumps(r) for r in generate(spec)]
    samples: list[tuple[int, float]] = []
    with bench_stack() as stack:
        asyncio.run(produce(stack.bootstrap, iter(values), 4))
        worker = stack.start_worker()
        try:
            deadline = time.monotonic() + 1800
            while time.monotonic() < deadline:
                stored = stack.count()
                samples.append((stored, rss_mib(worker.pid)))
                if stored >= len(values):
                    break
                time.sleep(1.0)
        finally:
            stop_worker(worker)
    after = [rss for stored, rss in samples if stored >= args.warm_up * len(values)]
    median = statistics.median(after)
    result = {
        "messages": len(values),
        "samples": len(samples),
        "rss_mib_at_warm_up": round(after[0], 1),
        "rss_mib_median_after": round(median, 1),
        "rss_mib_min_after": round(min(after), 1),
        "rss_mib_max_after": round(max(after), 1),
        "spread_vs_median": f"{(min(after) / median - 1):+.1%} / {(max(after) / median - 1):+.1%}",
        "rss_mib_by_tenth": [
            round(rss, 1) for stored, rss in samples[:: max(1, len(samples) // 10)]
        ],
    }
    record("memory", result)
    return result


if __name__ == "__main__":
    main()

"""`make bench`: run the benchmarks; each writes bench/results/NAME.json, and summary.json gathers them all.

`make bench ARGS="ingest --messages 100000"` runs one, passing its options.
"""

from __future__ import annotations

import argparse
import json

from bench import (
    alert_latency,
    backtest,
    console,
    detection,
    ingest,
    memory,
    pools,
    recovery,
    replica,
    stream_job,
    top5,
)
from bench.common import RESULTS

BENCHMARKS = {
    "ingest": ingest.main,
    "stream_job": stream_job.main,
    "alert_latency": alert_latency.main,
    "top5": top5.main,
    "pools": pools.main,
    "memory": memory.main,
    "recovery": recovery.main,
    "backtest": backtest.main,
    "console": console.main,
    "detection": detection.main,
    "replica": replica.main,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS)}; default: all")
    args, rest = parser.parse_known_args()
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    for name in args.names or list(BENCHMARKS):
        print(f"== {name}", flush=True)
        BENCHMARKS[name](rest)
    summary = {
        path.stem: json.loads(path.read_text())
        for path in sorted(RESULTS.glob("*.json"))
        if path.stem != "summary"
    }
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {RESULTS / 'summary.json'}")


if __name__ == "__main__":
    main()

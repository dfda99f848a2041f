"""`make bench`: run the benchmarks and write bench/results/*.json."""

from __future__ import annotations

import argparse

from bench import alert_latency, ingest, pools, top5

BENCHMARKS = {
    "ingest": ingest.main,
    "top5": top5.main,
    "alert_latency": alert_latency.main,
    "pools": pools.main,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help="default: all")
    args, rest = parser.parse_known_args()
    for name in args.names or list(BENCHMARKS):
        print(f"== {name}")
        BENCHMARKS[name](rest)


if __name__ == "__main__":
    main()

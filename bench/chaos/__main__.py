"""`make chaos`: every scenario at full size, and a report."""

from __future__ import annotations

import argparse

from bench.chaos import (
    Outcome,
    crash_shutdown,
    fuzz,
    kills,
    pool_kills,
    postgres_restart,
    providers_outage,
)


def report(outcomes: list[Outcome]) -> None:
    width = max(len(o.scenario) for o in outcomes)
    print(f"{'scenario':<{width}}  runs  faults  differences")
    for o in outcomes:
        print(f"{o.scenario:<{width}}  {o.runs:>4}  {o.faults:>6}  {o.differences:>11}")
        if o.detail:
            print(f"    {o.detail}")


def main(argv: list[str] | None = None) -> list[Outcome]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--syndicates", type=int, default=280)  # ~100,000 transactions over 3 hours
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--fuzz", type=int, default=10_000)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the providers fail")
    parser.add_argument("--pool-commands", type=int, default=3_000)
    args = parser.parse_args(argv)
    outcomes = [
        kills(args.kills, args.syndicates, args.hours),
        postgres_restart(args.syndicates // 2, args.hours),
        fuzz(args.fuzz, args.syndicates // 4, args.hours),
        crash_shutdown(20_000),
        providers_outage(40, args.outage),
        pool_kills(args.pool_commands, 5),
    ]
    report(outcomes)
    if any(o.differences for o in outcomes):
        raise SystemExit(1)
    return outcomes


if __name__ == "__main__":
    main()

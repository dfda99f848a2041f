"""Fault injection with an oracle: `make chaos` (a short version runs in `make test`).

Each scenario runs the real worker on the embedded stack, injects faults while it works, and compares the
final state with an oracle computed independently from the produced input (pipeline/devtools/oracle.py).
"""

from bench.chaos.fuzz import fuzz
from bench.chaos.kills import crash_shutdown, kills, postgres_restart
from bench.chaos.pools import pool_kills
from bench.chaos.providers import providers_outage
from bench.chaos.scenario import Outcome

__all__ = [
    "Outcome",
    "crash_shutdown",
    "fuzz",
    "kills",
    "pool_kills",
    "postgres_restart",
    "providers_outage",
]

"""The investor aggregates (the top-5's source) against the transactions and detached months."""

from __future__ import annotations

import orjson
import psycopg

from pipeline.integrity.difference import Difference
from pipeline.platform.queries import row_sync, rows_sync, run_sync

STATE = "aggregates"


def verify(conn: psycopg.Connection) -> list[Difference]:
    return [
        Difference(
            STATE,
            f"investor {r['investor_id']}"
            + ("" if r["syndicate_id"] is None else f" in syndicate {r['syndicate_id']}"),
            f"stored {_text(r['stored'])}, history says {_text(r['expected'])}",
        )
        for r in rows_sync(conn, "integrity/aggregate_differences")
    ]


def rebuild(conn: psycopg.Connection) -> int:
    """Rows rewritten; in one database transaction that holds the sink's writes back meanwhile."""
    with conn.transaction():
        run_sync(conn, "integrity/lock_history")
        changed = row_sync(conn, "integrity/rebuild_aggregates")
    assert changed is not None
    return int(changed["pairs"] + changed["investors"])


def _text(value: object) -> str:
    return "nothing" if value is None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()

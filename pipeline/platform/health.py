"""Liveness, readiness and the metrics exposition, for the routes in agents/ops.py."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from pipeline.platform.db import connect_async
from pipeline.platform.queries import run

CONSUMER_LAG = Gauge(
    "pulse_consumer_lag",
    "Messages behind the end of each assigned partition",
    ["topic", "partition"],
)


PARTITIONS_ASSIGNED = Gauge(
    "pulse_partitions_assigned", "Topic partitions this worker consumes now (0: not ready)"
)


def consumer_lag(app: Any) -> dict[tuple[str, int], int]:
    """Per assigned partition: high-water mark minus the next offset this worker will read."""
    consumer = app.consumer
    lags = {}
    for tp in consumer.assignment():
        try:
            highwater = consumer.highwater(tp)
        except Exception:  # no fetch for this partition yet
            continue
        read = consumer._read_offset.get(tp)  # Faust keeps the last offset it read
        position = 0 if read is None else read + 1
        lags[(tp.topic, tp.partition)] = max(0, (highwater or 0) - position)
    return lags


async def readiness(app: Any, database_url: str) -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {}
    try:
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment())
    except Exception as exc:
        assigned, checks["broker"] = [], f"unavailable: {type(exc).__name__}"
    checks["partitions_assigned"] = len(assigned)
    if "broker" not in checks:
        checks["broker"] = "ok" if assigned else "no partitions assigned yet"
    try:
        conn = await asyncio.wait_for(connect_async(database_url, connect_timeout=2), timeout=3)
        async with conn:
            await run(conn, "platform/ping")
        checks["postgres"] = "ok"
    except Exception as exc:
        checks["postgres"] = f"unreachable: {type(exc).__name__}"
    ready = checks["broker"] == "ok" and checks["postgres"] == "ok"
    return ready, {"status": "ready" if ready else "not ready", **checks}


def metrics_text(app: Any) -> tuple[bytes, str]:
    CONSUMER_LAG.clear()
    try:
        PARTITIONS_ASSIGNED.set(len(app.consumer.assignment()))
    except Exception:  # no consumer yet: none assigned
        PARTITIONS_ASSIGNED.set(0)
    for (topic, partition), lag in consumer_lag(app).items():
        CONSUMER_LAG.labels(topic, str(partition)).set(lag)
    return generate_latest(), CONTENT_TYPE_LATEST

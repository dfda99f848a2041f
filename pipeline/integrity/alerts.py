"""Alert publication: every alert stored as published is on topic ``alerts``, and none waits
unpublished longer than the relay takes to publish it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import psycopg

from pipeline.integrity.difference import Difference
from pipeline.platform.queries import rows_sync, run_sync

STATE = "alerts"
# The relay publishes what a crash left unpublished within seconds (pipeline.alerts.publisher);
# an alert older than this and still unpublished is stuck.
STUCK_AFTER_SECONDS = 60.0


def on_topic(records: list[Any]) -> set[uuid.UUID]:
    """The alert ids on topic ``alerts`` (a record that is not an alert names none)."""
    ids = set()
    for r in records:
        try:
            ids.add(uuid.UUID(orjson.loads(r.value)["alert_id"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
    return ids


Topic = Callable[[], set[uuid.UUID]]


def missing(conn: psycopg.Connection, on_the_topic: Topic) -> list[dict[str, Any]]:
    """Alerts stored as published that the topic lacks. The database is read first: an alert it
    says is published was on the topic before, so the topic read after has it (the other order
    would miss one published in between)."""
    stored = rows_sync(conn, "integrity/published_alerts")
    published = on_the_topic()
    return [r for r in stored if r["alert_id"] not in published]


def verify(conn: psycopg.Connection, on_the_topic: Topic) -> list[Difference]:
    found = [
        Difference(
            STATE,
            f"alert {r['alert_id']}",
            f"{r['kind']} alert of syndicate {r['syndicate_id']} stored as published, not on the topic",
        )
        for r in missing(conn, on_the_topic)
    ]
    found += [
        Difference(
            STATE,
            f"alert {r['alert_id']}",
            f"{r['kind']} alert of syndicate {r['syndicate_id']} unpublished since {r['detected_at']:%Y-%m-%d %H:%M:%S}",
        )
        for r in rows_sync(conn, "integrity/stuck_alerts", older_than=STUCK_AFTER_SECONDS)
    ]
    return found


def rebuild(conn: psycopg.Connection, on_the_topic: Topic) -> int:
    """Alerts the topic lacks are marked unpublished: the workers' relay publishes them again (and
    those merely stuck, it publishes as soon as a worker runs)."""
    ids = [r["alert_id"] for r in missing(conn, on_the_topic)]
    with conn.transaction():
        return run_sync(conn, "integrity/unmark_published", alert_ids=ids) if ids else 0

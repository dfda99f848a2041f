"""``pulse verify`` and ``pulse rebuild``: each derived state against its source of truth."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from config import Settings
from pipeline.integrity import aggregates, alerts, pools, windows
from pipeline.integrity.difference import Difference
from pipeline.platform.db import connect
from pipeline.platform.reading import read_to_end
from pipeline.platform.topics import ALERTS
from tables import spike_windows

STATES = ("aggregates", "windows", "pools", "alerts")
T = TypeVar("T")


def _published(settings: Settings) -> set[uuid.UUID]:
    return alerts.on_topic(asyncio.run(read_to_end(settings.kafka_bootstrap(), ALERTS.name)))


def _changelog(settings: Settings) -> list[Any]:
    topic = spike_windows.changelog_topic(settings.app_id)
    return asyncio.run(read_to_end(settings.kafka_bootstrap(), topic))


def verify(settings: Settings, states: tuple[str, ...] = STATES) -> list[Difference]:
    """Every difference, state by state; none when everything agrees. Reads the primary: a replica
    behind it would show differences that are only lag."""
    url = settings.resolved_database_url()
    checks: dict[str, Callable[[], list[Difference]]] = {
        "aggregates": lambda: _with(url, aggregates.verify),
        "windows": lambda: _with(url, lambda c: windows.verify(c, _changelog(settings), settings)),
        "pools": lambda: pools.verify(url),
        "alerts": lambda: _with(
            url, lambda conn: alerts.verify(conn, lambda: _published(settings))
        ),
    }
    return [d for state in states for d in checks[state]()]


def rebuild(settings: Settings, states: tuple[str, ...] = STATES) -> dict[str, int]:
    """Repair each state from its source of truth; how many rows (or pools) each needed."""
    url = settings.resolved_database_url()
    done: dict[str, int] = {}
    if "aggregates" in states:
        done["aggregates"] = _with(url, aggregates.rebuild)
    if "pools" in states:
        broken = sorted({d.subject.removeprefix("pool ") for d in pools.verify(url)})
        done["pools"] = _with(url, lambda conn: pools.rebuild(conn, broken))
    if "windows" in states:
        done["windows"] = _with(url, windows.rebuild)
    if "alerts" in states:
        done["alerts"] = _with(url, lambda conn: alerts.rebuild(conn, lambda: _published(settings)))
    return done


def _with(url: str, work: Callable[[psycopg.Connection], T]) -> T:
    with connect(url) as conn:
        return work(conn)

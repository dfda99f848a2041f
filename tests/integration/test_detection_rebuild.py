"""Spike windows rebuilt from their table: a detector that restarts after every batch (its memory
gone, as after a crash or a rebalance) raises exactly the alerts of one that never restarts, and
both equal the oracle, late events and lagging clocks included; so does one that crashes between
the database commit and the table write, or after part of the table write landed, or after all of
it but before the offsets were committed, and is redelivered the batch. Real PostgreSQL; the
changelog is a stand-in (no broker), restored from on every restart. A producer's retries (the same
transaction again at a later position) change nothing either, though each such batch was applied
to the windows ahead of the insert with its duplicates and has to be put back."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from config import Settings
from models.batch import SourceMessage, Triage, triage
from pipeline.alerts.detection import AnomalyDetector
from pipeline.devtools import oracle
from pipeline.devtools.local_table import LocalTable
from pipeline.ingest.sink import TransactionSink
from pipeline.integrity import windows
from pipeline.platform import db, metrics
from tables import spike_windows
from tables.spike_windows import SpikeWindows

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, tzinfo=UTC)
# A rule that fires at the least rise: nearly every count decides an alert, so a window that is off
# by one event anywhere shows in the alerts.
TOUCHY = {"spike_multiplier": Decimal("1.5"), "spike_min_count": 2}


def stream(seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for s in range(5):
        quiet = s >= 3  # absent from most batches: their windows move only now and then
        moment, n = T0, 0
        while moment < T0 + timedelta(hours=2, minutes=30):
            # One syndicate's clock runs behind; every one sends a late straggler now and then.
            stamp = moment - timedelta(minutes=7 if s == 2 else 0)
            if rng.random() < 0.05:
                stamp -= timedelta(minutes=rng.choice([1, 3, 90]))
            out.append(
                (
                    moment,
                    {
                        "transaction_id": f"s{s}/{n}",
                        "investor_id": f"inv-{rng.randint(1, 9)}",
                        "syndicate_id": f"syn-{s}",
                        "transaction_amount": "15000.00" if rng.random() < 0.01 else "100.00",
                        "transaction_date": stamp.isoformat(),
                    },
                )
            )
            n += 1
            burst = T0 + timedelta(hours=2) <= moment < T0 + timedelta(hours=2, minutes=4)
            rate = 1 / 600 if quiet else 1 if burst else 1 / 30
            moment += timedelta(seconds=rng.expovariate(rate))
    out.sort(key=lambda x: x[0])  # in the order they happened; stamped by each producer's clock
    return [r for _, r in out]


def messages(records: list[dict]) -> list[SourceMessage]:
    return [
        SourceMessage("transactions", 0, i, r["syndicate_id"].encode(), orjson.dumps(r))
        for i, r in enumerate(records)
    ]


class Worker:
    """A sink and detector over a table restored from the changelog, as a new worker has."""

    def __init__(self, url: str, settings: Settings, table: LocalTable) -> None:
        self.table = table
        windows = SpikeWindows(
            table, table, "transactions", settings.late_event_seconds * 1_000_000
        )
        self.sink = TransactionSink(url, AnomalyDetector(settings, windows))

    async def replaced(self, url: str, settings: Settings) -> Worker:
        await self.sink.close()
        return Worker(url, settings, self.table.restored())


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, kafka_url="kafka://127.0.0.1:1", **TOUCHY)


def table_differences(url: str, changelog: dict[str, Any]) -> list[Any]:
    """``pulse verify``'s check of the windows, on the stand-in's changelog."""
    as_sent = [
        SimpleNamespace(
            key=key.encode(),
            value=None if value is None else orjson.dumps(value),
            partition=0,
            offset=i,
        )
        for i, (key, value) in enumerate(changelog.items())
    ]
    with db.connect(url) as conn:
        return windows.verify(conn, as_sent, settings_for(url))


def retried(records: list[dict], rng: random.Random) -> list[dict]:
    """A producer's retries: some transactions come again, a few positions later."""
    again: list[dict] = []
    due: list[tuple[int, dict]] = []  # (after how many more, the transaction)
    for r in records:
        again.append(r)
        again += [d for n, d in due if n == 0]
        due = [(n - 1, d) for n, d in due if n > 0]
        if rng.random() < 0.05:
            due.append((rng.randint(0, 20), r))
    return again


async def resend_far_ahead(worker: Worker, batch: Triage) -> None:
    """A whole batch sent again, from positions far ahead: nothing in it is new."""
    copies = [replace(a.source, offset=10**6 + a.source.offset) for a in batch.accepted]
    again = triage(copies, datetime.now(UTC), timedelta(minutes=5))
    result = await worker.sink.write(again.accepted, again.dead)
    assert not result.inserted
    assert not result.alerts
    if result.settle is not None:
        await result.settle()


async def run(
    url: str, records: list[dict], batch: int, how: str
) -> tuple[set[tuple[str, str, str]], dict[str, Any]]:
    """``how``: continuous, restart (after every batch), or a crash on some batches: lost (no
    table record landed), partial (some did), landed (all did, the offsets were not committed),
    forgotten (the changelog itself is gone, as with the embedded broker's memory); or rebuilt
    (the windows rebuilt from PostgreSQL now and then, the worker running); or duplicated (some
    transactions sent again a few positions later, some whole batches again, and the changelog
    forgotten now and then, so that windows caught up from the database are put back too).
    Returns the alerts raised and the table's changelog at the end."""
    settings = settings_for(url)
    rng = random.Random(7)
    worker = Worker(url, settings, LocalTable())
    found = set()
    msgs = messages(retried(records, rng) if how == "duplicated" else records)
    for start in range(0, len(msgs), batch):
        if how == "restart":
            worker = await worker.replaced(url, settings)
        if how in ("forgotten", "duplicated") and rng.random() < 0.1:
            worker.table.changelog.clear()
            worker = await worker.replaced(url, settings)
        if how == "rebuilt" and start and rng.random() < 0.1:
            # pulse rebuild --what windows, between two batches of a worker that keeps running.
            with db.connect(url) as conn:
                assert windows.rebuild(conn) == 1
        t = triage(msgs[start : start + batch], datetime.now(UTC), timedelta(minutes=5))
        if how in ("lost", "partial", "landed") and rng.random() < 0.3:
            if how != "landed":
                # A partition's records land in the order sent: a crash loses a suffix of them.
                landing = iter([True] * (rng.randint(1, 6) if how == "partial" else 0))
                worker.table.lands = lambda key, landing=landing: next(landing, False)
            first = await worker.sink.write(t.accepted, t.dead)
            found |= {(a.kind.value, a.syndicate_id, a.transaction_id) for a in first.alerts}
            # The worker dies before its table write settles: the batch is redelivered.
            worker.table.lands = lambda key: True
            worker = await worker.replaced(url, settings)
        result = await worker.sink.write(t.accepted, t.dead)
        if result.settle is not None:
            await result.settle()
        found |= {(a.kind.value, a.syndicate_id, a.transaction_id) for a in result.alerts}
        if how == "duplicated":
            # After every batch, not only at the end: a window the table got wrong can heal as its
            # times fall behind the horizon.
            assert table_differences(url, worker.table.changelog) == []
        if how == "duplicated" and rng.random() < 0.1:
            await resend_far_ahead(worker, t)
    await worker.sink.close()
    return found, worker.table.changelog


@pytest.mark.parametrize("seed", [1, 2])
def test_restarts_and_crashes_around_the_table_write_change_no_alert(
    postgres, monkeypatch: pytest.MonkeyPatch, seed: int
):
    from tests.conftest import database_url_for

    # Small segments: many are sealed and expire, so crashes fall between those writes too.
    monkeypatch.setattr(spike_windows, "SEGMENT", 4)
    records = stream(seed)
    expected = oracle.expected_alerts_fast(
        records, multiplier=TOUCHY["spike_multiplier"], min_count=TOUCHY["spike_min_count"]
    )
    assert any(k == "spike" for k, _, _ in expected), "the stream must exercise the spike rule"
    hows = ("continuous", "restart", "lost", "partial", "landed", "forgotten", "rebuilt")
    for how in (*hows, "duplicated"):
        name = f"rebuild_{seed}_{how}"
        with db.connect(postgres.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = database_url_for(postgres.url, name)
        db.upgrade(url)
        applied_again = metrics.WINDOW_CATCH_UPS._value.get()
        put_back = metrics.WINDOWS_APPLIED_AGAIN._value.get()
        raised, changelog = asyncio.run(run(url, records, batch=37, how=how))
        applied_again = metrics.WINDOW_CATCH_UPS._value.get() - applied_again
        put_back = metrics.WINDOWS_APPLIED_AGAIN._value.get() - put_back
        if how in ("forgotten", "rebuilt", "duplicated"):
            assert applied_again > 0, f"{how}: the windows were never rebuilt from the database"
        if how == "duplicated":
            # Batches applied ahead with their duplicates, then put back and applied without.
            assert put_back > 0, "no batch was applied again"
        with db.connect(url) as conn:
            stored = {
                (r[0], r[1], r[2])
                for r in conn.execute("SELECT kind, syndicate_id, transaction_id FROM alerts")
            }
        assert stored == expected, how
        assert raised == expected, how
        # And the table holds exactly the windows the stored rows give.
        assert table_differences(url, changelog) == [], how


def test_alerts_are_handed_on_at_the_commit_before_the_table_write(postgres):
    """The alerts' publication starts as soon as they are committed, not after the spike windows'
    table write; the batch still waits for both before it is acknowledged."""
    from tests.conftest import database_url_for

    with db.connect(postgres.url, autocommit=True) as conn:
        conn.execute('CREATE DATABASE "handed_on_at_commit"')
    url = database_url_for(postgres.url, "handed_on_at_commit")
    db.upgrade(url)
    records = stream(3)[:400]
    t = triage(messages(records), datetime.now(UTC), timedelta(minutes=5))
    seen: dict[str, Any] = {}
    published = asyncio.Event()

    async def committed(result: Any) -> Any:
        with db.connect(url) as conn:  # another session: sees only what is committed
            seen["stored"] = {r[0] for r in conn.execute("SELECT transaction_id FROM alerts")}
        seen["raised"] = {a.transaction_id for a in result.alerts}
        seen["table"] = dict(worker.table.changelog)

        async def publication() -> None:
            published.set()

        return publication

    async def main() -> Any:
        result = await worker.sink.write(t.accepted, t.dead, committed)
        assert not published.is_set()
        assert result.settle is not None
        await result.settle()
        await worker.sink.close()
        return result

    worker = Worker(url, settings_for(url), LocalTable())
    result = asyncio.run(main())
    assert seen["raised"], "the batch must raise alerts"
    assert seen["raised"] == {a.transaction_id for a in result.alerts}
    assert seen["stored"] == seen["raised"]
    assert seen["table"] == {}, "the table was written before the alerts were handed on"
    assert worker.table.changelog, "the table write never happened"
    assert published.is_set(), "the batch's settle must finish the publication"

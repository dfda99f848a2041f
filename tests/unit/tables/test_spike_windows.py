"""The spike windows' table layout: a syndicate's window survives a write and a read back exactly,
segments seal and expire, and a record the changelog did not confirm goes again."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import faust

from models.anomaly import MINUTE, SyndicateWindow, from_micros
from pipeline.devtools.local_table import LocalTable
from tables.spike_windows import (
    SEGMENT,
    STORE_OPTIONS,
    Changelog,
    Encoded,
    Kept,
    Sent,
    SpikeWindows,
    segment_key,
)

LATENESS = 2 * MINUTE


def windows(table: LocalTable) -> SpikeWindows:
    return SpikeWindows(table, table, "transactions", LATENESS)


def counted(kept: Kept, times: list[int]) -> None:
    """Apply times as detection does: into the window, and noted for the next write."""
    for t in times:
        window = kept.window
        window.times.append(t)
        window.times.sort()
        window.first_event = min(window.first_event or t, t)
        window.watermark = max(window.watermark or t, t)
        kept.count(t)


def test_a_window_reads_back_as_it_was_written_across_sealed_segments():
    table = LocalTable()
    store = windows(table)
    kept = Kept(
        "syn-1",
        SyndicateWindow(
            spike_open=True,
            alerted_count=9,
            alerted_window=2 * MINUTE,
            alerted_at=999 * MINUTE,
            hours_from=16,
            hours=[3, 0, 7],
        ),
    )
    start = 1_000 * MINUTE
    for batch in range(5):  # 5 batches of 70: two segments sealed, the rest open
        counted(kept, [start + (batch * 70 + i) * 1_000_000 for i in range(70)])
        kept.applied = batch * 100 + 69
        asyncio.run(store.save({0: [kept]}, {}))
    assert len(kept.sealed) == 350 // SEGMENT
    assert segment_key("syn-1", 0) in table.changelog

    back = windows(table.restored()).load(0, "syn-1")
    assert back is not None
    assert back.window == kept.window
    assert (back.applied, back.open, back.sealed) == (469, kept.open, kept.sealed)
    head = table.changelog["syn-1"]
    assert head["last_5_minutes"] == 300  # (watermark - 5 min, watermark]: one a second
    assert head["previous_hour"] == 50  # the first 50 s, before that


def test_segments_behind_the_horizon_are_deleted_and_not_read_back():
    table = LocalTable()
    store = windows(table)
    kept = Kept("syn-1", SyndicateWindow())
    counted(kept, [i * 1_000_000 for i in range(SEGMENT + 3)])
    kept.applied = 1
    asyncio.run(store.save({0: [kept]}, {}))
    assert segment_key("syn-1", 0) in table.changelog

    late = 5 * 60 * MINUTE  # hours later: everything before is behind the horizon
    counted(kept, [late])
    kept.applied = 2
    asyncio.run(store.save({0: [kept]}, {}))
    assert segment_key("syn-1", 0) not in table.changelog
    assert kept.sealed == []
    back = windows(table.restored()).load(0, "syn-1")
    assert back is not None
    assert back.window.times == [late]


def test_a_record_the_changelog_refused_goes_again_until_it_lands():
    table = LocalTable()
    store = windows(table)
    kept = Kept("syn-1", SyndicateWindow())
    counted(kept, [MINUTE])
    kept.applied = 0
    refusals = iter([True, True])  # the first two sends are refused
    table.lands = lambda key: not next(refusals, False)

    async def write_and_settle() -> None:
        settle = await store.write({0: [kept]}, {0: 0})
        assert "syn-1" not in table.changelog
        assert "syn-1" in table.data  # the store has it at once
        await settle()

    asyncio.run(write_and_settle())
    assert table.changelog["syn-1"]["applied"] == 0
    assert table.changelog["\x00partition\x000"] == {"applied": 0, "generation": 0}


def test_a_send_refused_at_once_goes_again_too():
    """The broker away when the record is handed over: the send raises instead of failing later."""

    class Unreachable(LocalTable):
        refusals = 1

        async def send(self, partition: int, encoded: list[Encoded]) -> list[Sent]:
            if self.refusals:
                self.refusals -= 1
                raise ConnectionError("no broker")
            return await super().send(partition, encoded)

    table = Unreachable()
    store = windows(table)
    kept = Kept("syn-1", SyndicateWindow())
    counted(kept, [MINUTE])
    kept.applied = 0
    asyncio.run(store.save({0: [kept]}, {0: 0}))
    assert table.changelog["syn-1"]["applied"] == 0


def test_an_unknown_syndicate_has_no_window():
    assert windows(LocalTable()).load(0, "nobody") is None


async def unsettled(store: SpikeWindows, kept: Kept) -> None:
    await store.write({0: [kept]}, {})


def test_any_prefix_of_a_write_restores_the_window_before_it_or_after_it():
    """A crash leaves a prefix of a partition's records in the changelog: whatever prefix, the
    restored window is the one before the write or the one after it, never a mix."""

    def written(lands_first: int | None) -> tuple[LocalTable, Kept, SyndicateWindow]:
        table = LocalTable()
        store = windows(table)
        kept = Kept("syn-1", SyndicateWindow())
        counted(kept, [i * 10_000_000 for i in range(SEGMENT * 3)])  # 64 min, one every 10 s
        kept.applied = 1
        asyncio.run(store.save({0: [kept]}, {}))
        before = SyndicateWindow(times=list(kept.window.times), watermark=kept.window.watermark)
        # Later: the three segments expire and another fills up, in one write.
        counted(kept, [140 * MINUTE + i * 1_000_000 for i in range(SEGMENT)])
        kept.applied = 2
        sent = iter(range(10**6))
        table.lands = lambda key: lands_first is None or next(sent) < lands_first
        asyncio.run(unsettled(store, kept))  # the worker dies before its write settles
        return table, kept, before

    table, after, _ = written(None)
    assert [n for n, _ in after.sealed] == [3]
    for n in range(6):  # the write: a segment sealed, three deleted, a head
        table, _, before = written(n)
        back = windows(table.restored()).load(0, "syn-1")
        assert back is not None
        horizon = windows(table).rule.horizon(before.watermark)
        if back.applied == 1:
            assert back.window.times == [t for t in before.times if t > horizon], n
        else:
            assert back.applied == 2
            assert back.window.times == [
                t
                for t in after.window.times
                if t > windows(table).rule.horizon(after.window.watermark)
            ], n


def test_a_head_written_before_the_window_lengths_reads_as_the_five_minute_window():
    table = LocalTable()
    store = windows(table)
    kept = Kept("syn-1", SyndicateWindow(spike_open=True, alerted_count=9))
    counted(kept, [1_000 * MINUTE])
    kept.applied = 0
    asyncio.run(store.save({0: [kept]}, {}))
    for key in ("alerted_window", "alerted_at", "hours_from", "hours"):
        del table.changelog["syn-1"][key]
    back = windows(table.restored()).load(0, "syn-1")
    assert back is not None
    assert (back.window.alerted_window, back.window.alerted_at) == (5 * MINUTE, None)
    assert (back.window.hours_from, back.window.hours) == (None, [])
    assert back.window.alerted_count == 9


class FakeBatch:
    """aiokafka's BatchBuilder as the changelog uses it: full after ``capacity`` records."""

    def __init__(self, capacity: int) -> None:
        self.records: list[tuple[bytes, bytes | None]] = []
        self.capacity = capacity

    def append(self, *, key: bytes, value: bytes | None, timestamp: None) -> object | None:
        if len(self.records) == self.capacity:
            return None
        self.records.append((key, value))
        return object()


class FakeProducer:
    """Offsets as a broker gives them: a batch's future carries its first record's offset."""

    def __init__(self, refusals: int = 0) -> None:
        self.topic: list[tuple[int, bytes, bytes | None]] = []
        self.refusals = refusals  # sends refused at once, as with the broker away

    def create_batch(self) -> FakeBatch:
        return FakeBatch(capacity=2)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> object:
        if self.refusals:
            self.refusals -= 1
            raise ConnectionError("broker away")
        first = len(self.topic)
        self.topic += [(partition, k, v) for k, v in batch.records]
        delivered: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        delivered.set_result(SimpleNamespace(offset=first))
        return delivered


class FakeStore(dict):
    """The RocksDB store's raw methods, and its persisted offsets."""

    def __init__(self) -> None:
        super().__init__()
        self.persisted: dict[int, int] = {}

    def get(self, key: Any, default: Any = None) -> Any:
        """As Faust's store reads: a str key, the JSON value decoded."""
        raw = super().get(key.encode() if isinstance(key, str) else key)
        return default if raw is None else json.loads(raw)

    def _set(self, key: bytes, value: bytes) -> None:
        self[key] = value

    def _del(self, key: bytes) -> None:
        self.pop(key, None)

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        self.persisted[tp.partition] = offset


def test_the_changelog_writes_each_record_once_encoded_in_order_and_confirms_the_last_offset():
    producer, store = FakeProducer(), FakeStore()
    app = SimpleNamespace(producer=SimpleNamespace(_ensure_producer=lambda: producer))
    table = SimpleNamespace(data=store, changelog_topic_name="changelog")
    changelog = Changelog(app, table)  # type: ignore[arg-type]
    records = [("syn-1\x000", {"times": [1, 2]}), ("syn-1", {"open": [3]}), ("syn-1\x00-1", None)]
    store[b"syn-1\x00-1"] = b"{}"
    windows = SpikeWindows(table, changelog, "transactions", LATENESS)

    async def scenario() -> list[Sent]:
        stored = changelog.store([*records, ("\x00partition\x003", {"applied": 7})])
        sends = await changelog.send(3, stored)
        await windows._confirmed(sends)
        return sends

    sends = asyncio.run(scenario())
    assert [(s.partition, s.keys) for s in sends] == [
        (3, ["syn-1\x000", "syn-1"]),
        (3, ["syn-1\x00-1", "\x00partition\x003"]),
    ]
    assert producer.topic == [
        (3, b"syn-1\x000", b'{"times":[1,2]}'),
        (3, b"syn-1", b'{"open":[3]}'),
        (3, b"syn-1\x00-1", None),
        (3, b"\x00partition\x003", b'{"applied":7}'),
    ]
    assert store == {
        b"syn-1\x000": b'{"times":[1,2]}',
        b"syn-1": b'{"open":[3]}',
        b"\x00partition\x003": b'{"applied":7}',
    }
    assert store.persisted == {3: 3}


def test_a_send_refused_midway_leaves_every_record_in_the_store_and_they_go_again():
    producer, store = FakeProducer(refusals=1), FakeStore()
    app = SimpleNamespace(producer=SimpleNamespace(_ensure_producer=lambda: producer))
    table = SimpleNamespace(data=store, changelog_topic_name="changelog")
    changelog = Changelog(app, table)  # type: ignore[arg-type]
    windows = SpikeWindows(table, changelog, "transactions", LATENESS)
    records = [
        ("syn-1\x000", {"times": [1, 2]}),
        ("syn-1", {"open": [3]}),
        ("syn-2", {"open": [4]}),
    ]

    async def scenario() -> None:
        sends = await windows._write(0, records)
        assert store == {
            k.encode(): json.dumps(v, separators=(",", ":")).encode() for k, v in records
        }
        await windows._confirmed(sends)

    asyncio.run(scenario())
    assert [(k, v) for _, k, v in producer.topic] == [
        (b"syn-1\x000", b'{"times":[1,2]}'),
        (b"syn-1", b'{"open":[3]}'),
        (b"syn-2", b'{"open":[4]}'),
    ]
    assert store.persisted == {0: 2}


def test_a_head_shows_ops_its_newest_event_time_as_iso_8601():
    producer, store = FakeProducer(), FakeStore()
    app = SimpleNamespace(producer=SimpleNamespace(_ensure_producer=lambda: producer))
    table = SimpleNamespace(data=store, changelog_topic_name="changelog")
    windows = SpikeWindows(table, Changelog(app, table), "transactions", LATENESS)  # type: ignore[arg-type]
    kept = Kept("syn-1", SyndicateWindow())
    newest = 1_000 * MINUTE + 7  # a microsecond part: written to the microsecond
    counted(kept, [1_000 * MINUTE - 1_000_000, newest])
    asyncio.run(windows.save({0: [kept]}, {}))
    head = json.loads(store[b"syn-1"])
    assert head["as_of"] == from_micros(newest).isoformat() == "1970-01-01T16:40:00.000007+00:00"
    assert (head["last_5_minutes"], head["previous_hour"]) == (2, 0)


def test_the_table_s_rocksdb_memory_is_bounded(tmp_path):
    app = faust.App("bounded", broker="kafka://127.0.0.1:1", store="rocksdb://", datadir=tmp_path)
    windows = SpikeWindows.define(app, "transactions", 4, LATENESS)
    options = windows.table.data.rocksdb_options
    assert options.write_buffer_size == STORE_OPTIONS["write_buffer_size"] < 64 << 20
    assert options.max_write_buffer_number == STORE_OPTIONS["max_write_buffer_number"]
    assert options.block_cache_size == STORE_OPTIONS["block_cache_size"] < 2 << 30

"""The spike windows of every syndicate, in the Faust table ``spike-windows``.

RocksDB store, changelog topic ``<app id>-spike-windows-changelog``, partitioned as ``transactions``:
a syndicate's windows live in the partition its transactions do, are restored from the changelog
when a worker starts or a rebalance hands it the partition, and follow the partition to its owner.

The rule needs exact edges, (t - 5 min, t] and (t - 65 min, t - 5 min] for any t to the microsecond,
so the table keeps the counted event times of each syndicate's horizon, not a count per hopping
window (which could not give those edges). They are kept as segments, so that a batch writes one
record per syndicate it touched rather than the whole horizon again:

- the head, under the syndicate id: the window's state (first event, watermark, open spike,
  alerted count), the last source offset applied, the open segment (times counted since the last
  seal), the sealed segments' numbers, and the live counts ops read on Faust's own table page,
  ``/table/spike-windows/<syndicate_id>/``;
- sealed segments, under ``<syndicate_id>\\x00<n>``: ``SEGMENT`` times each, written once, deleted once
  every time in them has fallen behind the horizon;
- each partition's mark, under ``\\x00partition\\x00<p>``: the newest source offset applied to it.

A partition's records land in the order they were sent, so a crash leaves a prefix of them. A head
is written after the segments it names and before the deletion of those it stopped naming, and the
mark after every head of its batch: any prefix holds, for every syndicate, a head and every segment
that head names, and a mark only once all it covers is there. What a head's applied
offset decides after a crash is pipeline.alerts.detection's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import faust
import orjson
from faust.types import TP

from models.anomaly import (
    CURRENT_WINDOW,
    PartitionWindows,
    SyndicateWindow,
    from_micros,
    recent_counts,
)
from tables.partitioned import on_partition

log = logging.getLogger(__name__)

NAME = "spike-windows"
Settle = Callable[[], Awaitable[None]]
Record = tuple[str, dict[str, Any] | None]  # None: the key is deleted
Encoded = tuple[str, bytes, bytes | None]  # the record's key, and key and value as stored and sent
SEGMENT = 32  # times per sealed segment: a head never carries more than this many
_SEPARATOR = "\x00"  # cannot be in a syndicate id: PostgreSQL text cannot hold it
# RocksDB's memory, per partition's database. Faust's defaults (three write buffers of 64 MiB and a
# 2 GiB block cache) let a worker's memory grow by hundreds of MiB as heads are rewritten every
# batch, for windows whose live data is a few MiB (docs/PERFORMANCE.md, "Memory").
STORE_OPTIONS = {
    "write_buffer_size": 8 << 20,
    "max_write_buffer_number": 2,
    "block_cache_size": 16 << 20,
}


def changelog_topic(app_id: str) -> str:
    return f"{app_id}-{NAME}-changelog"


def segment_key(syndicate_id: str, number: int) -> str:
    return f"{syndicate_id}{_SEPARATOR}{number}"


def syndicates_of(keys: Iterable[str]) -> list[str]:
    """The syndicate ids among a store's keys: those of heads (segments and marks carry the
    separator)."""
    return [k for k in keys if _SEPARATOR not in k]


def mark_key(partition: int) -> str:
    """The partition's mark: the newest source offset applied to its windows."""
    return f"{_SEPARATOR}partition{_SEPARATOR}{partition}"


@dataclass
class Kept:
    """A syndicate's window as the table holds it, with what the next write must add."""

    syndicate_id: str
    window: SyndicateWindow
    # The last source offset of ``transactions`` applied to the window, in its partition.
    applied: int | None = None
    open: list[int] = field(default_factory=list)
    sealed: list[tuple[int, int]] = field(default_factory=list)  # (number, newest time in it)
    next_segment: int = 0
    fresh: list[int] = field(default_factory=list)  # times counted since the last write
    # The partition's windows generation it belongs to (partition_state.windows_generation).
    generation: int = 0

    def count(self, t: int) -> None:
        self.fresh.append(t)

    def copy(self) -> Kept:
        """A copy that shares no mutable state with this one."""
        return Kept(
            self.syndicate_id,
            self.window.copy(),
            self.applied,
            list(self.open),
            list(self.sealed),
            self.next_segment,
            list(self.fresh),
            self.generation,
        )


class SpikeWindows:
    """Owns table ``spike-windows``: defines it, reads a syndicate's window, writes a batch's."""

    def __init__(self, table: Any, changelog: Any, source_topic: str, lateness: int) -> None:
        """``table``: the Faust table ``define`` makes (or pipeline.devtools.local_table's stand-in,
        for the sink without a broker); ``changelog``: what sends its records (``Changelog``)."""
        self.table = table
        self.changelog = changelog
        self.source_topic = source_topic
        # The rule the windows serve; its horizon decides which times are kept.
        self.rule = PartitionWindows(lateness)

    @classmethod
    def define(
        cls, app: faust.App, source_topic: str, partitions: int, lateness: int
    ) -> SpikeWindows:
        # Keys are the syndicate id's own bytes, as on ``transactions``, so Faust's router finds a
        # key's partition, and its owner, as the producer's partitioner did; values are JSON.
        topic = app.topic(
            changelog_topic(app.conf.id),
            key_serializer="raw",
            value_serializer="json",
            partitions=partitions,
            compacting=True,
            acks=False,
            internal=True,
            maxsize=131_072,
            allow_empty=True,
        )
        table = app.Table(
            NAME,
            partitions=partitions,
            changelog_topic=topic,
            options=dict(STORE_OPTIONS),  # a copy: Faust's store changes the dict it is given
            help="Each syndicate's spike windows: exact event times of its horizon, live counts.",
        )
        table.key_serializer = "raw"  # read when the store first opens, after this
        return cls(table, Changelog(app, table), source_topic, lateness)

    def load(self, partition: int, syndicate_id: str, generation: int = 0) -> Kept | None:
        """The syndicate's window, if the table has one of this generation (an older one is dead:
        the windows were rebuilt since)."""
        with on_partition(self.source_topic, partition):
            head = self.table.data.get(syndicate_id)
            if head is None or head.get("generation", 0) != generation:
                return None
            times = list(head["open"])
            for number, _ in head["sealed"]:
                segment = self.table.data.get(segment_key(syndicate_id, number))
                if segment is not None:  # else expired, and deleted before the head said so
                    times.extend(segment["times"])
        watermark = head["watermark"]
        if watermark is not None:
            horizon = self.rule.horizon(watermark)
            times = [t for t in times if t > horizon]
        times.sort()
        window = SyndicateWindow(
            times=times,
            first_event=head["first_event"],
            spike_open=head["spike_open"],
            alerted_count=head["alerted_count"],
            watermark=watermark,
            # Heads written before windows of several lengths alerted on the 5-minute one.
            alerted_window=head.get("alerted_window", CURRENT_WINDOW),
            alerted_at=head.get("alerted_at"),
            hours_from=head.get("hours_from"),
            hours=list(head.get("hours", ())),
        )
        return Kept(
            syndicate_id,
            window,
            applied=head["applied"],
            open=list(head["open"]),
            sealed=[(n, newest) for n, newest in head["sealed"]],
            next_segment=head["next_segment"],
            generation=generation,
        )

    def mark(self, partition: int, generation: int = 0) -> int | None:
        """The newest source offset applied to the partition's windows of this generation."""
        with on_partition(self.source_topic, partition):
            found = self.table.data.get(mark_key(partition))
        if found is None or found.get("generation", 0) != generation:
            return None
        return found["applied"]

    async def write(
        self,
        moved: dict[int, list[Kept]],
        marks: dict[int, int],
        generations: dict[int, int] | None = None,
    ) -> Settle:
        """Write the syndicates' windows and the partitions' marks (of their ``generations``, 0
        if not given), by partition, to the store and the changelog; returns what waits until the
        changelog has every record (the batch is acknowledged after that, while the next one is
        already being processed)."""
        return await self.write_records(self.records(moved, marks, generations))

    def records(
        self,
        moved: dict[int, list[Kept]],
        marks: dict[int, int],
        generations: dict[int, int] | None = None,
    ) -> dict[int, list[Record]]:
        """What ``write`` writes, by partition, in the order it must land. Each window's times
        counted since its last write go into these records: build them once per write."""
        by_partition: dict[int, list[Record]] = {}
        for p in sorted(moved.keys() | marks.keys()):
            records = [r for k in moved.get(p, ()) for r in self._records(k)]
            if p in marks:  # last: a mark in the changelog implies the windows before it
                generation = (generations or {}).get(p, 0)
                records.append((mark_key(p), {"applied": marks[p], "generation": generation}))
            by_partition[p] = records
        return by_partition

    async def write_records(self, by_partition: dict[int, list[Record]]) -> Settle:
        """``records``' records to the store and the changelog."""
        sends: list[Sent] = []
        for p, records in by_partition.items():
            with on_partition(self.source_topic, p):
                sends += await self._write(p, records)
        return lambda: self._confirmed(sends)

    async def _write(self, partition: int, records: list[Record]) -> list[Sent]:
        """The records into the store, then onto the changelog, in order. The store holds them
        whatever the broker does, as the windows count them as applied: a send refused at once
        (the broker away) is a failed delivery, and goes again with the others from the store."""
        encoded = self.changelog.store(records)
        try:
            return await self.changelog.send(partition, encoded)
        except Exception as exc:
            refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            refused.set_exception(exc)
            return [Sent(partition, [key for key, _ in records], refused)]

    async def save(
        self,
        moved: dict[int, list[Kept]],
        marks: dict[int, int],
        generations: dict[int, int] | None = None,
    ) -> None:
        """``write``, and wait until the changelog has it."""
        await (await self.write(moved, marks, generations))()

    async def _confirmed(self, sends: list[Sent]) -> None:
        """Until the changelog has confirmed every record: one a send failed to deliver goes again,
        as the store holds it now (the same value, or a newer one)."""
        delay = 0.1
        while sends:
            results = await asyncio.gather(*(s.delivery for s in sends), return_exceptions=True)
            failed: dict[int, list[str]] = {}
            newest: dict[int, int] = {}
            for sent, result in zip(sends, results, strict=True):
                if isinstance(result, Exception):
                    failed.setdefault(sent.partition, []).extend(sent.keys)
                elif result is not None:  # the first record's offset
                    last = result.offset + len(sent.keys) - 1
                    newest[sent.partition] = max(newest.get(sent.partition, -1), last)
            for p, offset in newest.items():
                self.changelog.confirmed(p, offset)
            if not failed:
                return
            log.warning(
                "the changelog refused %d spike-window records; sending again",
                sum(map(len, failed.values())),
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            sends = []
            for p, keys in failed.items():
                with on_partition(self.source_topic, p):
                    records = [(key, self.changelog.stored(key)) for key in keys]
                    sends += await self._write(p, records)

    def _records(self, kept: Kept) -> list[Record]:
        """The segments that filled up, the head, then the expired segments (None: deleted).

        A crash can cut this sequence anywhere; whatever prefix lands is a state to resume from. A
        head names only segments written before it; a segment is deleted only after a head that
        no longer names it, since the head before still counts on it for events of this batch."""
        records: list[Record] = []
        kept.open.extend(kept.fresh)
        kept.fresh.clear()
        while len(kept.open) >= SEGMENT:
            times, kept.open = kept.open[:SEGMENT], kept.open[SEGMENT:]
            number = kept.next_segment
            kept.next_segment += 1
            kept.sealed.append((number, max(times)))
            records.append((segment_key(kept.syndicate_id, number), {"times": times}))
        expired: list[tuple[int, int]] = []
        window = kept.window
        if window.watermark is not None:
            horizon = self.rule.horizon(window.watermark)
            kept.open = [t for t in kept.open if t > horizon]
            expired = [s for s in kept.sealed if s[1] <= horizon]
            kept.sealed = [s for s in kept.sealed if s[1] > horizon]
        records.append((kept.syndicate_id, _head(kept)))
        records += [(segment_key(kept.syndicate_id, n), None) for n, _ in expired]
        return records


@dataclass(frozen=True)
class Sent:
    """Records of one partition on their way to the changelog, in order: ``delivery`` gives the
    first one's offset (None where there is no broker), or fails for all of them."""

    partition: int
    keys: list[str]
    delivery: Awaitable[Any]


class Changelog:
    """Writes the table's records: into the worker's RocksDB copy and onto the changelog topic.

    Faust's own path (a table write, a ``FutureMessage``, the producer buffer's task awaiting one send
    at a time, a callback that writes the persisted offset to RocksDB per record) cost the worker
    ~100 µs a record, about as much as the rest of ingestion. This writes the same records, to the
    same partitions, as the same JSON: encoded once for both the store and the topic, sent as
    producer batches (aiokafka's ``send_batch``: a future a batch, not a record), with the persisted
    offset written once per partition and batch.
    """

    def __init__(self, app: faust.App, table: Any) -> None:
        self.app = app
        self.table = table

    def store(self, records: list[Record]) -> list[Encoded]:
        """Into the worker's copy, in the partition made current by ``on_partition``: the store's
        own raw methods under its JSON serializer, so it reads back what Faust would have written."""
        store = self.table.data
        encoded = []
        for key, value in records:
            raw_key = key.encode()
            raw = None if value is None else orjson.dumps(value)
            if raw is None:
                store._del(raw_key)
            else:
                store._set(raw_key, raw)
            encoded.append((key, raw_key, raw))
        return encoded

    async def send(self, partition: int, encoded: list[Encoded]) -> list[Sent]:
        """Onto the changelog, in order, as producer batches."""
        producer = self.app.producer._ensure_producer()
        sends: list[Sent] = []
        batch, keys = producer.create_batch(), []
        for key, raw_key, raw in encoded:
            if batch.append(key=raw_key, value=raw, timestamp=None) is None:  # full
                sends.append(Sent(partition, keys, await self._send(producer, batch, partition)))
                batch, keys = producer.create_batch(), []
                batch.append(key=raw_key, value=raw, timestamp=None)  # a fresh batch takes any
            keys.append(key)
        if keys:
            sends.append(Sent(partition, keys, await self._send(producer, batch, partition)))
        return sends

    async def _send(self, producer: Any, batch: Any, partition: int) -> Awaitable[Any]:
        return await producer.send_batch(
            batch, self.table.changelog_topic_name, partition=partition
        )

    def stored(self, key: str) -> dict[str, Any] | None:
        return self.table.data.get(key)

    def confirmed(self, partition: int, offset: int) -> None:
        """The changelog has every record of ``partition`` up to ``offset``: Faust restores from
        there on a restart with this store."""
        self.table.data.set_persisted_offset(TP(self.table.changelog_topic_name, partition), offset)


def _head(kept: Kept) -> dict[str, Any]:
    window = kept.window
    head: dict[str, Any] = {
        "syndicate_id": kept.syndicate_id,
        "applied": kept.applied,
        "first_event": window.first_event,
        "watermark": window.watermark,
        "spike_open": window.spike_open,
        "alerted_count": window.alerted_count,
        "alerted_window": window.alerted_window,
        "alerted_at": window.alerted_at,
        "hours_from": window.hours_from,
        "hours": list(window.hours),
        "open": list(kept.open),
        "sealed": [list(s) for s in kept.sealed],
        "next_segment": kept.next_segment,
        "generation": kept.generation,
    }
    if window.watermark is not None:
        # For ops: the windows as of the syndicate's newest event.
        last_5_minutes, previous_hour = recent_counts(window, window.watermark)
        # A datetime: orjson writes it as isoformat() would, in a third of the time.
        head["as_of"] = from_micros(window.watermark)
        head["last_5_minutes"] = last_5_minutes
        head["previous_hour"] = previous_hour
    return head

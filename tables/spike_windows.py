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
  every time in them has fallen behind the horizon.

A partition's records land in the order they were sent, so a crash leaves a prefix of them. A head
is written after the segments it names and before the deletion of those it stopped naming: any
prefix holds, for every syndicate, a head and every segment that head names. What a head's applied
offset decides after a crash is pipeline.alerts.detection's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import faust

from models.anomaly import (
    PartitionWindows,
    SyndicateWindow,
    from_micros,
    read_windows,
)
from tables.partitioned import on_partition

log = logging.getLogger(__name__)

NAME = "spike-windows"
SEGMENT = 128  # times per sealed segment: a head never carries more than this many
_SEPARATOR = "\x00"  # cannot be in a syndicate id: PostgreSQL text cannot hold it


def segment_key(syndicate_id: str, number: int) -> str:
    return f"{syndicate_id}{_SEPARATOR}{number}"


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

    def count(self, t: int) -> None:
        self.fresh.append(t)


class SpikeWindows:
    """Owns table ``spike-windows``: defines it, reads a syndicate's window, writes a batch's."""

    def __init__(self, table: Any, source_topic: str, lateness: int) -> None:
        """``table``: the Faust table ``define`` makes, or anything with its ``data`` mapping and
        ``send_changelog`` (pipeline.devtools.local_table, for the sink without a broker)."""
        self.table = table
        self.source_topic = source_topic
        self.shape = PartitionWindows(lateness)
        # Records written to the store whose changelog send has not been confirmed yet.
        self._unconfirmed: dict[str, int] = {}

    @classmethod
    def define(
        cls, app: faust.App, source_topic: str, partitions: int, lateness: int
    ) -> SpikeWindows:
        # Keys are the syndicate id's own bytes, as on ``transactions``, so Faust's router finds a
        # key's partition, and its owner, as the producer's partitioner did; values are JSON.
        changelog = app.topic(
            f"{app.conf.id}-{NAME}-changelog",
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
            changelog_topic=changelog,
            help="Each syndicate's spike windows: exact event times of its horizon, live counts.",
        )
        table.key_serializer = "raw"  # read when the store first opens, after this
        return cls(table, source_topic, lateness)

    def load(self, partition: int, syndicate_id: str) -> Kept | None:
        with on_partition(self.source_topic, partition):
            head = self.table.data.get(syndicate_id)
            if head is None:
                return None
            times = list(head["open"])
            for number, _ in head["sealed"]:
                segment = self.table.data.get(segment_key(syndicate_id, number))
                if segment is not None:  # else expired, and deleted before the head said so
                    times.extend(segment["times"])
        watermark = head["watermark"]
        if watermark is not None:
            horizon = self.shape.horizon(watermark)
            times = [t for t in times if t > horizon]
        times.sort()
        window = SyndicateWindow(
            times=times,
            first_event=head["first_event"],
            spike_open=head["spike_open"],
            alerted_count=head["alerted_count"],
            watermark=watermark,
        )
        return Kept(
            syndicate_id,
            window,
            applied=head["applied"],
            open=list(head["open"]),
            sealed=[(n, newest) for n, newest in head["sealed"]],
            next_segment=head["next_segment"],
        )

    def mark(self, partition: int) -> int | None:
        with on_partition(self.source_topic, partition):
            found = self.table.data.get(mark_key(partition))
        return None if found is None else found["applied"]

    async def save(self, moved: dict[int, list[Kept]], marks: dict[int, int]) -> None:
        """Write the syndicates' windows and the partitions' marks, by partition, and wait until
        the changelog has every record (the batch is acknowledged after this). Records a failed send left unconfirmed go
        again, from the store, with the next save."""
        sends: list[tuple[str, int, Any]] = []
        for key, p in list(self._unconfirmed.items()):
            with on_partition(self.source_topic, p):
                sends.append((key, p, self._resend(key, p)))
        for p in sorted(moved.keys() | marks.keys()):
            with on_partition(self.source_topic, p):
                for k in moved.get(p, ()):
                    for key, value in self._records(k):
                        sends.append((key, p, self._put(key, p, value)))
                if p in marks:  # last: a mark in the changelog implies the windows before it
                    key = mark_key(p)
                    sends.append((key, p, self._put(key, p, {"applied": marks[p]})))
        if not sends:
            return
        results = await asyncio.gather(*(f for _, _, f in sends), return_exceptions=True)
        failed: BaseException | None = None
        for (key, p, _), result in zip(sends, results, strict=True):
            if isinstance(result, BaseException):
                self._unconfirmed[key] = p
                failed = failed or result
            else:
                self._unconfirmed.pop(key, None)
        if failed is not None:
            log.warning(
                "%d spike-window records not confirmed by the changelog", len(self._unconfirmed)
            )
            raise failed

    def _records(self, kept: Kept) -> list[tuple[str, dict[str, Any] | None]]:
        """The segments that filled up, the head, then the expired segments (None: deleted).

        A crash can cut this sequence anywhere; whatever prefix lands is a state to resume from. A
        head names only segments written before it; a segment is deleted only after a head that
        no longer names it, since the head before still counts on it for events of this batch."""
        records: list[tuple[str, dict[str, Any] | None]] = []
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
            horizon = self.shape.horizon(window.watermark)
            kept.open = [t for t in kept.open if t > horizon]
            expired = [s for s in kept.sealed if s[1] <= horizon]
            kept.sealed = [s for s in kept.sealed if s[1] > horizon]
        records.append((kept.syndicate_id, _head(kept)))
        records += [(segment_key(kept.syndicate_id, n), None) for n, _ in expired]
        return records

    def _put(self, key: str, partition: int, value: dict[str, Any] | None) -> Any:
        if value is None:
            self.table.data.pop(key, None)
            return self.table.send_changelog(partition, key, None, value_serializer="raw")
        self.table.data[key] = value
        return self.table.send_changelog(partition, key, value)

    def _resend(self, key: str, partition: int) -> Any:
        return self._put(key, partition, self.table.data.get(key))


def _head(kept: Kept) -> dict[str, Any]:
    window = kept.window
    head: dict[str, Any] = {
        "syndicate_id": kept.syndicate_id,
        "applied": kept.applied,
        "first_event": window.first_event,
        "watermark": window.watermark,
        "spike_open": window.spike_open,
        "alerted_count": window.alerted_count,
        "open": list(kept.open),
        "sealed": [list(s) for s in kept.sealed],
        "next_segment": kept.next_segment,
    }
    if window.watermark is not None:
        # For ops: the windows as of the syndicate's newest event.
        reading = read_windows(window, window.watermark)
        head["as_of"] = from_micros(window.watermark).isoformat()
        head["last_5_minutes"] = reading.current
        head["previous_hour"] = reading.baseline_count
    return head

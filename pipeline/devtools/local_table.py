"""A stand-in for a Faust table and its changelog where there is no broker: the sink measured alone
(bench) and the detector's exactness tests. ``data`` is the worker's local store; ``changelog`` holds
what the changelog topic would, so a worker "restarted elsewhere" is a new table restored from it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tables.spike_windows import Encoded, Record, Sent


class LocalTable:
    def __init__(self, changelog: dict[str, Any] | None = None) -> None:
        self.changelog: dict[str, Any] = dict(changelog or {})
        self.data: dict[str, Any] = dict(self.changelog)
        # Decides, per record sent, whether the changelog gets it (a crash loses the rest).
        self.lands: Callable[[str], bool] = lambda key: True

    def restored(self) -> LocalTable:
        """The table as a worker elsewhere restores it: from the changelog only."""
        return LocalTable(self.changelog)

    def store(self, records: list[Record]) -> list[Encoded]:
        for key, value in records:
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value
        return [(key, key.encode(), None) for key, _ in records]

    async def send(self, partition: int, encoded: list[Encoded]) -> list[Sent]:
        sends = []
        for key, _, _ in encoded:
            sent: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            if self.lands(key):
                if key in self.data:
                    self.changelog[key] = self.data[key]
                else:
                    self.changelog.pop(key, None)
                sent.set_result(None)
            else:
                sent.set_exception(ConnectionError("the changelog send was lost"))
            sends.append(Sent(partition, [key], sent))
        return sends

    def stored(self, key: str) -> Any:
        return self.data.get(key)

    def confirmed(self, partition: int, offset: int) -> None:
        """Nothing to persist: the dict is the store."""

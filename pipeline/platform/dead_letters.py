"""Dead letters, whatever topic they came from: their headers, their row, their publication.

A dead letter is the original message (same key, same value bytes) with why and where from in
headers; it is also stored in the table ``dead_letters`` (docs/CONTRACT.md).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg

from models.batch import DeadLetter, printable
from pipeline.platform import metrics
from pipeline.platform.queries import run_many
from pipeline.platform.retry import retry_transient

_DEAD_LETTER_NS = uuid.UUID("6f2b1f0e-3c55-4d8e-9a43-5b8f1d7c2a10")


def dead_letter_id(letter: DeadLetter) -> uuid.UUID:
    """Stable per message: the same message dead-lettered twice is stored once.

    Offsets alone are not enough: an in-memory broker starts again from 0.
    """
    src = letter.source
    digest = hashlib.sha256((src.key or b"") + b"\x00" + (src.value or b"")).hexdigest()
    return uuid.uuid5(_DEAD_LETTER_NS, f"{src.topic}/{src.partition}/{src.offset}/{digest}")


def headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    src = letter.source
    out = [
        ("pulse.reason", letter.reason.encode()),
        ("pulse.detail", printable(letter.detail).encode()),
        ("pulse.source.topic", src.topic.encode()),
        ("pulse.source.partition", str(src.partition).encode()),
        ("pulse.source.offset", str(src.offset).encode()),
    ]
    if letter.error_type:
        out.append(("pulse.error.type", letter.error_type.encode()))
    return out


def row(letter: DeadLetter) -> dict[str, Any]:
    src = letter.source
    detail = printable(letter.detail)
    if letter.error_type:
        detail = f"{letter.error_type}: {detail}"
    return {
        "dead_letter_id": dead_letter_id(letter),
        "topic": src.topic,
        "partition": src.partition,
        "offset": src.offset,
        "reason": letter.reason,
        "detail": detail,
        "message_key": src.key,
        "message_value": src.value,
    }


async def store(conn: psycopg.AsyncConnection, letters: Sequence[DeadLetter]) -> None:
    await run_many(conn, "platform/insert_dead_letters", (row(d) for d in letters))


async def publish(topic: Any, letters: Sequence[DeadLetter]) -> None:
    """Send to the dead-letter topic and wait until the broker has them all."""
    pending = [
        await topic.send(key=d.source.key, value=d.source.value or b"", headers=headers(d))
        for d in letters
    ]
    for fut in pending:
        await fut
    for d in letters:
        metrics.DEAD_LETTERS.labels(d.source.topic, d.reason).inc()


class DeadLetterOffice:
    """Dead letters of the internal topics: stored in ``dead_letters`` and published to
    ``internal-dlq``, both before the batch they came from is acknowledged."""

    def __init__(self, database: Any, topic: Any) -> None:
        self._database = database  # pipeline.platform.db.LazyPool
        self._topic = topic

    async def send(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return

        async def store_them() -> None:
            pool = await self._database.get()
            async with pool.connection() as conn:
                await store(conn, letters)

        await retry_transient(store_them, None, f"storing {len(letters)} dead letters")
        await retry_transient(
            lambda: publish(self._topic, letters), None, f"publishing {len(letters)} dead letters"
        )

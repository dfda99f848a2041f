"""The outbox of topic ``pool-events``: events are stored with the command that made them, published
right after the commit, and relayed when a crash came in between (pipeline.platform.relay). Without it, a
crash after the commit would lose the events for good: the redelivered command is known, skipped,
and never published again."""

from __future__ import annotations

from typing import Any

import orjson

from models.pools import event_json
from pipeline.platform.queries import rows, run
from pipeline.platform.relay import Conn, OutboxStore, Outgoing, Relay
from pipeline.pools.store import Applied


def message(pool_id: str, seq: int, kind: str, idempotency_key: str, data: Any) -> Outgoing:
    body = {
        "pool_id": pool_id,
        "seq": seq,
        "type": kind,
        "idempotency_key": idempotency_key,
        "data": data,
    }
    return Outgoing((pool_id, seq), pool_id.encode(), orjson.dumps(body))


def applied_message(a: Applied) -> Outgoing:
    return message(a.pool_id, a.seq, a.event.type, a.idempotency_key, event_json(a.event))


class PoolEventPublisher(Relay):
    def __init__(self, database_url: str, topic: Any) -> None:
        super().__init__(
            database_url,
            topic,
            OutboxStore(
                name="pool-events",
                unpublished=_unpublished,
                to_outgoing=lambda r: message(
                    r["pool_id"], r["seq"], r["type"], r["idempotency_key"], r["payload"]
                ),
                ident_of=lambda r: (r["pool_id"], r["seq"]),
                mark=_mark,
                quarantine=lambda conn, row, reason: _mark(conn, [(row["pool_id"], row["seq"])]),
            ),
        )


async def _unpublished(conn: Conn, limit: int) -> list[Any]:
    return await rows(conn, "pools/unpublished_pool_events", limit=limit)


async def _mark(conn: Conn, idents: list[Any]) -> None:
    pool_ids = [p for p, _ in idents]
    seqs = [s for _, s in idents]
    await run(conn, "pools/mark_pool_events_published", pool_ids=pool_ids, seqs=seqs)

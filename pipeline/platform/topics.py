"""The one place that declares every topic: names, partitions, configs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from pipeline.platform.transport import kafka_client_options


@dataclass(frozen=True)
class TopicSpec:
    name: str
    # None: PULSE_TOPIC_PARTITIONS. Partitioned topics are keyed by syndicate or pool.
    partitions: int | None = None
    config: dict[str, str] = field(default_factory=dict)

    def partition_count(self, default: int) -> int:
        return self.partitions or default


TRANSACTIONS = TopicSpec("transactions")
TRANSACTIONS_DLQ = TopicSpec("transactions-dlq")
ALERTS = TopicSpec("alerts")
NOTIFICATIONS_DLQ = TopicSpec("notifications-dlq")
POOL_COMMANDS = TopicSpec("pool-commands")
POOL_EVENTS = TopicSpec("pool-events")
# Dead letters of the internal topics a worker reads (alerts, pool-commands).
INTERNAL_DLQ = TopicSpec("internal-dlq")

ALL = (
    TRANSACTIONS,
    TRANSACTIONS_DLQ,
    ALERTS,
    NOTIFICATIONS_DLQ,
    POOL_COMMANDS,
    POOL_EVENTS,
    INTERNAL_DLQ,
)


async def ensure_topics(bootstrap: str, default_partitions: int, specs=ALL) -> None:
    """Create the topics that do not exist yet (producers may run before any worker)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(s.name, s.partition_count(default_partitions), 1, topic_configs=s.config)
            for s in specs
            if s.name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


def key_of(value: bytes) -> bytes | None:
    """The syndicate id as key, when the value has one; invalid values go unkeyed to the DLQ."""
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if isinstance(doc, dict):
        syndicate = doc.get("syndicate_id")
        if isinstance(syndicate, str | int) and not isinstance(syndicate, bool):
            return str(syndicate).encode()
    return None


@dataclass(frozen=True)
class FaustTopics:
    """The app's handles of the topics it reads or writes: raw bytes in and out; agents decode in
    batches. Built once, by the composition root."""

    transactions: Any
    transactions_dlq: Any
    alerts: Any
    pool_commands: Any
    pool_events: Any
    internal_dlq: Any

    @classmethod
    def of(cls, app: Any) -> FaustTopics:
        return cls(
            transactions=_handle(app, TRANSACTIONS),
            transactions_dlq=_handle(app, TRANSACTIONS_DLQ),
            alerts=_handle(app, ALERTS),
            pool_commands=_handle(app, POOL_COMMANDS),
            pool_events=_handle(app, POOL_EVENTS),
            internal_dlq=_handle(app, INTERNAL_DLQ),
        )


def _handle(app: Any, spec: TopicSpec) -> Any:
    return app.topic(
        spec.name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=spec.partition_count(app.conf.topic_partitions),
        config=spec.config or None,
    )

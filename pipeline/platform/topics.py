"""The one place that declares every topic: names, partitions, configs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

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


_HANDLES: dict[tuple[int, str], object] = {}


def faust_topic(app, spec: TopicSpec):  # type: ignore[no-untyped-def]
    """The Faust handle of a topic (one per app): raw bytes in and out; agents decode in batches."""
    key = (id(app), spec.name)
    if key not in _HANDLES:
        _HANDLES[key] = _new_handle(app, spec)
    return _HANDLES[key]


def _new_handle(app, spec: TopicSpec):  # type: ignore[no-untyped-def]
    return app.topic(
        spec.name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=spec.partition_count(app.conf.topic_partitions),
        config=spec.config or None,
    )

"""After a database restore: the workers' consumer group rewound to what the restored database
holds, so that they replay everything after it and nothing is lost.

Transactions resume, per partition, after the newest offset the database processed (a stored row
or a dead letter). Pool commands and alerts resume from the beginning of what the broker keeps:
commands apply once per Idempotency-Key, and alerts route once per alert id, so what the restored
database already has changes nothing. Run it with every worker stopped: a running member's commits
would overwrite these.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.structs import OffsetAndMetadata

from config import Settings
from models.errors import PulseError
from pipeline.platform.queries import rows_sync
from pipeline.platform.topics import ALERTS, POOL_COMMANDS, TRANSACTIONS
from pipeline.platform.transport import kafka_client_options

FROM_THE_BEGINNING = (POOL_COMMANDS.name, ALERTS.name)


# Longer than a stopped worker's session may last (PULSE_SESSION_TIMEOUT; Kafka's default is 45 s).
GROUP_EMPTY_SECONDS = 90.0


class RewindError(PulseError):
    pass


def resume_points(conn: psycopg.Connection) -> dict[int, int]:
    """Per partition of transactions that the database has seen: the first offset it has not."""
    found = rows_sync(conn, "integrity/processed_offsets", topic=TRANSACTIONS.name)
    return {r["partition"]: r["processed"] + 1 for r in found}


async def rewind(settings: Settings, transactions: dict[int, int]) -> dict[str, dict[int, int]]:
    """Commit the group's offsets: ``transactions`` per partition (0 where not named), the
    idempotent topics from their beginning; what was committed, by topic and partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap(),
        group_id=settings.app_id,
        enable_auto_commit=False,
        partition_assignment_strategy=(_AsWorkers,),
        **kafka_client_options(settings),
    )
    await consumer.start()
    try:
        targets: dict[TopicPartition, int] = {}
        for topic in (TRANSACTIONS.name, *FROM_THE_BEGINNING):
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
            ]
            if not partitions:
                continue
            starts = await consumer.beginning_offsets(partitions)
            for tp in partitions:
                wanted = transactions.get(tp.partition, 0) if topic == TRANSACTIONS.name else 0
                targets[tp] = max(wanted, starts[tp])
        await _commit_as_member(consumer, targets)
        done: dict[str, dict[int, int]] = {}
        for tp, offset in sorted(targets.items()):
            done.setdefault(tp.topic, {})[tp.partition] = offset
        return done
    finally:
        await consumer.stop()


async def _commit_as_member(consumer: AIOKafkaConsumer, targets: dict[TopicPartition, int]) -> None:
    """Commit as a member of the group: alone in it (every worker is stopped), it is assigned
    every partition. Brokers differ on commits from outside a group's membership (the embedded one
    refuses them), never on a member's."""
    consumer.subscribe(topics=sorted({tp.topic for tp in targets}))
    deadline = time.monotonic() + GROUP_EMPTY_SECONDS
    while set(targets) - consumer.assignment():
        if time.monotonic() > deadline:
            raise RewindError(
                f"not alone in the group after {GROUP_EMPTY_SECONDS:.0f} s: stop every worker first"
            )
        await consumer.getmany(timeout_ms=200, max_records=1)
    await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in targets.items()})


class _AsWorkers(RoundRobinPartitionAssignor):
    """The workers' protocol name (Faust's assignor): a broker may keep an empty group's protocol
    and refuse a member that names another. Alone in the group, round robin gives it everything."""

    name = "faust"


def describe(done: dict[str, dict[int, Any]]) -> list[str]:
    return [
        f"{topic}: " + ", ".join(f"{p}@{o}" for p, o in sorted(parts.items()))
        for topic, parts in done.items()
    ]

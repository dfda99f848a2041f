"""The per-syndicate windowed count: this pipeline's Faust worker vs a minimal Quix Streams job.

Both read the same messages from the same broker. Quix Streams counts per syndicate in hopping windows
(5 min, step 1 min) on event time; this pipeline's worker does its whole job on them (validation, the
idempotent Postgres sink with aggregates, exact spike windows and alerts), which is the windowed count it has.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.common import (
    BenchStack,
    bench_stack,
    messages,
    pipeline_rate,
    record,
)
from pipeline.devtools.produce import produce

QUIX_JOB = r"""
import sys, time
from datetime import datetime
from quixstreams import Application

bootstrap, topic_name, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = Application(broker_address=bootstrap, consumer_group="quix-bench", auto_offset_reset="earliest",
                  state_dir=sys.argv[4], loglevel="WARNING")
def event_time(value, headers, timestamp, timestamp_type):
    return int(datetime.fromisoformat(value["transaction_date"]).timestamp() * 1000)
topic = app.topic(topic_name, value_deserializer="json", timestamp_extractor=event_time)
seen = {"n": 0, "start": None}
def tick(row):
    if seen["start"] is None:
        seen["start"] = time.perf_counter()
    seen["n"] += 1
    if seen["n"] >= total:
        print("RATE", total / (time.perf_counter() - seen["start"]), flush=True)
        app.stop()
    return row
sdf = app.dataframe(topic).update(tick)
sdf = sdf.hopping_window(duration_ms=300_000, step_ms=60_000).count().current()
app.run(sdf)
"""


async def copy_topic(stack: BenchStack, values: list[bytes], name: str) -> None:
    """Quix Streams reads topic configs back; the embedded broker returns only those that were set."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        config = {"retention.ms": "604800000", "retention.bytes": "-1", "cleanup.policy": "delete"}
        await admin.create_topics([NewTopic(name, 4, 1, topic_configs=config)])
    finally:
        await admin.close()
    await produce(stack.bootstrap, iter(values), 4, topic=name)


def quix_rate(stack: BenchStack, values: list[bytes]) -> float:
    asyncio.run(copy_topic(stack, values, "transactions-quix"))
    with tempfile.TemporaryDirectory() as state:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                QUIX_JOB,
                stack.bootstrap,
                "transactions-quix",
                str(len(values)),
                state,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    for line in result.stdout.splitlines():
        if line.startswith("RATE"):
            return float(line.split()[1])
    raise RuntimeError(f"the Quix Streams job failed:\n{result.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args(argv)
    values = messages(args.messages)
    with bench_stack() as stack:
        quix = quix_rate(stack, values)
        asyncio.run(produce(stack.bootstrap, iter(values), 4))
        ours = pipeline_rate(stack, len(values))
    result = {
        "messages": len(values),
        "quix_streams_hopping_count_per_s": round(quix),
        "this_pipeline_per_s": round(ours),
        "ratio": round(ours / quix, 3),
    }
    record("stream_job", result)
    return result


if __name__ == "__main__":
    main()

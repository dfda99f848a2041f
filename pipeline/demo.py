"""``pulse demo``: the main job on the embedded stack, start to finish."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from config import Settings
from pipeline.generate import GeneratorSpec, generate
from pipeline.local_stack import LocalStack

DEMO_DIR = Path(".pulse/demo")


def demo_messages(count: int, seed: int = 7) -> tuple[list[bytes], int, int]:
    """Generated transactions plus the faults a real feed has: redeliveries and malformed messages.

    Returns the messages, how many distinct valid transactions they hold, and how many are bad.
    """
    start = datetime.now(UTC) - timedelta(hours=2)
    records = list(generate(GeneratorSpec(2_000, 300, count, seed, start, rate=count / 7200)))
    rng = random.Random(seed)
    messages = [orjson.dumps(r) for r in records]
    redelivered = rng.sample(messages, k=max(1, count // 200))
    bad = [
        b"not json",
        b"[1, 2, 3]",
        orjson.dumps({**records[0], "transaction_id": "bad-amount", "transaction_amount": "-5.00"}),
        orjson.dumps(
            {**records[1], "transaction_id": "bad-precision", "transaction_amount": "10.005"}
        ),
        orjson.dumps(
            {**records[2], "transaction_id": "bad-date", "transaction_date": "2026-01-01T10:00:00"}
        ),
        orjson.dumps({k: v for k, v in records[3].items() if k != "investor_id"}),
        orjson.dumps({**records[4], "transaction_amount": "99.99"}),  # conflicting duplicate
    ]
    mixed = messages + redelivered + bad
    rng.shuffle(mixed)
    return mixed, len(records), len(bad)


def run_demo(transactions: int, follow: bool, console: Console) -> None:
    from pipeline import db, queries
    from pipeline.cli import render_top_investors
    from pipeline.produce import produce

    began = time.monotonic()
    stack = LocalStack(DEMO_DIR)
    if stack.running() is None and DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)  # a fresh world: the broker kept nothing anyway
    console.print("[bold]1/5[/bold] starting the embedded broker and PostgreSQL")
    info = stack.up()
    env = {
        **os.environ,
        "PULSE_DATA_DIR": str(DEMO_DIR),
        "PULSE_KAFKA_URL": info.kafka_url,
        "PULSE_DATABASE_URL": info.database_url,
    }
    settings = Settings(data_dir=DEMO_DIR, kafka_url=info.kafka_url, database_url=info.database_url)
    console.print("[bold]2/5[/bold] migrating the database")
    db.upgrade(info.database_url)
    console.print("[bold]3/5[/bold] starting a worker")
    log = (DEMO_DIR / "worker.log").open("ab")
    worker = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        messages, expected_rows, expected_bad = demo_messages(transactions)
        console.print(
            f"[bold]4/5[/bold] producing {len(messages):,} messages "
            f"({expected_rows:,} transactions, redeliveries and {expected_bad} malformed)"
        )
        produced_at = time.monotonic()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            sent = progress.add_task("produced", total=len(messages))
            stored = progress.add_task("in PostgreSQL", total=expected_rows + expected_bad)
            asyncio.run(
                produce(
                    settings.kafka_bootstrap(),
                    iter(messages),
                    settings.topic_partitions,
                    on_sent=lambda n: progress.advance(sent, n),
                )
            )
            deadline = time.monotonic() + 300
            while True:
                c = queries.counts(info.database_url)
                progress.update(stored, completed=c["transactions"] + c["dead_letters"])
                if c["transactions"] >= expected_rows and c["dead_letters"] >= expected_bad:
                    break
                if worker.poll() is not None:
                    raise SystemExit(
                        f"the worker exited with {worker.returncode}; see {DEMO_DIR / 'worker.log'}"
                    )
                if time.monotonic() > deadline:
                    raise SystemExit(
                        "timed out waiting for the worker; see " + str(DEMO_DIR / "worker.log")
                    )
                time.sleep(0.2)
        ingest_seconds = time.monotonic() - produced_at
        console.print("[bold]5/5[/bold] top investors")
        Console().print(render_top_investors(queries.top_investors(info.database_url, 5)))
        c = queries.counts(info.database_url)
        console.print(
            f"{c['transactions']:,} transactions from {c['investors']:,} investors stored, "
            f"{c['dead_letters']} dead-lettered, produce→stored in {ingest_seconds:.1f} s "
            f"({c['transactions'] / ingest_seconds:,.0f} tx/s); demo took {time.monotonic() - began:.1f} s"
        )
    finally:
        if not follow:
            worker.terminate()
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
            stack.down()
    if follow:
        console.print(
            f"worker pid {worker.pid} and the stack keep running; "
            f"`PULSE_DATA_DIR={DEMO_DIR} pulse local down` stops the stack"
        )

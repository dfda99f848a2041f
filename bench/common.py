"""Shared benchmark plumbing: a private embedded stack and timing helpers."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
from cryptography.fernet import Fernet

import sql
from pipeline.devtools.environment import StackAddress, pulse_environment, user_token
from pipeline.devtools.generate import GeneratorSpec, generate
from pipeline.devtools.local_stack import (
    POSTGRES_FAST_SHUTDOWN,
    free_port,
    start_broker,
    start_postgres,
    stop_process,
)
from pipeline.platform import db

RESULTS = Path(__file__).parent / "results"

# One set of secrets for the benchmark process and every worker it starts (each has its own data
# directory, where they would otherwise generate their own). Set before any settings are read.
os.environ.setdefault("PULSE_JWT_SECRET", secrets.token_urlsafe(48))
os.environ.setdefault("PULSE_ENCRYPTION_KEYS", Fernet.generate_key().decode())


def stop_worker(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM, and SIGKILL if it has not exited after ``grace`` seconds: a benchmark never leaves one behind."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@dataclass
class BenchStack(StackAddress):
    root: Path
    worker: subprocess.Popen[bytes] | None = None
    postgres_pid: int = 0
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def restart_postgres(self, down_seconds: float) -> None:
        """Fast-shut PostgreSQL down, keep it down a while, start it again on the same data."""
        stop_process(self.postgres_pid, POSTGRES_FAST_SHUTDOWN)
        time.sleep(down_seconds)
        _, self.postgres_pid = start_postgres(self.root / "pgdata")

    def env(self, **extra: str) -> dict[str, str]:
        return pulse_environment(
            self.kafka_url,
            self.database_url,
            self.root / "data",
            **{"PULSE_LOG_LEVEL": "warn", **extra},
        )

    def start_worker(
        self, name: str = "worker", module: str = "pipeline.cli", **env: str
    ) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        self.worker = subprocess.Popen(
            [sys.executable, "-m", module, "worker"],
            env=self.env(
                **{
                    "PULSE_DATA_DIR": str(self.root / name),
                    "PULSE_WEB_PORT": str(free_port()),
                    **env,
                }
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started.append(self.worker)
        return self.worker

    def admin_headers(self) -> dict[str, str]:
        """Authorization for an admin of the pools API (the user is created on first use)."""
        token = user_token(self.database_url, "bench-admin", "admin", ttl=timedelta(hours=6))
        return {"Authorization": f"Bearer {token}"}

    def committed_offsets(self, topic: str = "transactions") -> int:
        """The sum of the worker group's committed offsets on ``topic`` (0: nothing committed)."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        from config import Settings

        async def read() -> int:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=Settings().app_id,
                enable_auto_commit=False,
            )
            await consumer.start()
            try:
                parts = consumer.partitions_for_topic(topic) or set()
                offsets = [await consumer.committed(TopicPartition(topic, p)) for p in parts]
                return sum(o or 0 for o in offsets)
            finally:
                await consumer.stop()

        return asyncio.run(read())

    def count(self, table: str = "transactions") -> int:
        with psycopg.connect(db.libpq_url(self.database_url)) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0


@contextmanager
def bench_stack() -> Iterator[BenchStack]:
    root = Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    broker_pid, port = start_broker(root / "broker.log")
    url, pg_pid = start_postgres(root / "pgdata")
    try:
        db.upgrade(url)
        stack = BenchStack(f"kafka://127.0.0.1:{port}", url, root, postgres_pid=pg_pid)
        yield stack
    finally:
        for proc in stack.started if "stack" in locals() else ():
            stop_worker(proc)
        stop_process(broker_pid)
        stop_process(stack.postgres_pid if "stack" in locals() else pg_pid, POSTGRES_FAST_SHUTDOWN)
        shutil.rmtree(root, ignore_errors=True)


def messages(
    n: int, seed: int = 1, investors: int = 20_000, syndicates: int = 2_000
) -> list[bytes]:
    spec = GeneratorSpec(
        investors, syndicates, n, seed, datetime(2026, 1, 1, tzinfo=UTC), rate=200.0
    )
    return [orjson.dumps(r) for r in generate(spec)]


def wait_for_count(
    stack: BenchStack, target: int, timeout: float, table: str = "transactions"
) -> list[tuple[float, int]]:
    """Poll the row count until ``target``; returns the (time, count) samples."""
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = stack.count(table)
        samples.append((time.monotonic(), n))
        if n >= target:
            return samples
        if stack.worker is not None and stack.worker.poll() is not None:
            log = (stack.root / "worker.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the worker exited with {stack.worker.returncode}:\n{log}")
        time.sleep(0.05)
    raise TimeoutError(f"only {samples[-1][1]} of {target} rows after {timeout} s")


def pipeline_rate(stack: BenchStack, total: int, workers: int = 1) -> float:
    """Steady-state rate of ``workers`` worker processes storing ``total`` already-produced messages."""
    procs = [stack.start_worker(f"worker{i}") for i in range(workers)]
    try:
        samples = wait_for_count(stack, total, timeout=600)
    finally:
        for proc in procs:
            stop_worker(proc)
    return steady_rate(samples, total)


def steady_rate(samples: list[tuple[float, int]], total: int) -> float:
    """Rows per second from the first row to the last, leaving out group-join time."""
    start = next((t, n) for t, n in samples if n > 0)
    end = samples[-1]
    return (end[1] - start[1]) / (end[0] - start[0])


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def record(name: str, result: dict[str, object]) -> None:
    RESULTS.mkdir(exist_ok=True)
    result = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **result,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def load_rows(
    database_url: str,
    n: int,
    investors: int,
    syndicates: int,
    chunk: int = 1_000_000,
    spacing: float = 0.01,
) -> None:
    """Rows straight into the real ``transactions`` table with SQL (``sql/devtools/``): for sizes
    the sink would take long to load (10M rows: about 20 minutes through it here, 9 this way)."""
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as conn:
        for first in range(0, n, chunk):
            conn.execute(
                sql.load("devtools/bench_transactions"),
                {
                    "first": first,
                    "last": min(n, first + chunk) - 1,
                    "investors": investors,
                    "syndicates": syndicates,
                    "spacing": spacing,
                },
            )

"""Test harness: real brokers, real PostgreSQL, real worker processes. No mocks of either."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from pipeline.local_stack import free_port
from pipeline.produce import produce

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout:.0f} s waiting for {what}; last value: {last!r}"
    )


@dataclass
class Stack:
    kafka_url: str
    database_url: str
    data_dir: Path

    @property
    def bootstrap(self) -> str:
        return self.kafka_url.split("://", 1)[1]

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PULSE_KAFKA_URL": self.kafka_url,
            "PULSE_DATABASE_URL": self.database_url,
            "PULSE_DATA_DIR": str(self.data_dir),
            "PULSE_TOPIC_PARTITIONS": "4",
            **extra,
        }

    def produce(self, messages: Iterable[bytes]) -> int:
        summary = asyncio.run(produce(self.bootstrap, iter(list(messages)), 4))
        assert summary.failed == 0
        return summary.sent

    def pulse(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        """Run the CLI as a user would."""
        result = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *args],
            env=self.env(**env),
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"pulse {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result

    def read_topic(self, topic: str, expected: int, timeout: float = 20.0) -> list:
        """Every record of ``topic`` from the start, once ``expected`` are there (or the timeout)."""

        async def read() -> list:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
            await consumer.start()
            try:
                partitions = [
                    TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
                ]
                if not partitions:
                    await consumer.stop()
                    return []
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
                records: list = []
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    batch = await consumer.getmany(timeout_ms=300)
                    for recs in batch.values():
                        records.extend(recs)
                    if len(records) >= expected and not batch:
                        break
                return records
            finally:
                await consumer.stop()

        return asyncio.run(read())


class Worker:
    """``pulse worker`` as a subprocess, killable like a real one."""

    def __init__(self, stack: Stack, name: str = "worker", **env: str) -> None:
        self.stack = stack
        self.port = free_port()
        self.log_path = stack.data_dir / f"{name}-{self.port}.log"
        self.env = stack.env(
            PULSE_WEB_PORT=str(self.port), PULSE_DATA_DIR=str(stack.data_dir / name), **env
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def assert_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"worker exited with {self.proc.returncode}:\n{self.log()[-3000:]}"
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

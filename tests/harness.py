"""Test harness: real brokers, real PostgreSQL, real worker processes. No mocks of either."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from pipeline.devtools.environment import (
    StackAddress,
    pulse_environment,
    user_token,
)
from pipeline.devtools.local_stack import free_port
from pipeline.devtools.produce import produce
from pipeline.platform.topics import ensure_topics

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
TEST_JWT_SECRET = "test-only-secret-0123456789abcdefghijklmnop"
TEST_CONSOLE_SECRET = "test-only-console-secret-0123456789abcdef"
TEST_ENCRYPTION_KEY = "yR4bQ2x0JtYc4vZq3nq3m1H1YgO5w9r7bJt8k2c6s0E="


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
class Stack(StackAddress):
    data_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        return pulse_environment(
            self.kafka_url,
            self.database_url,
            self.data_dir,
            **{"PULSE_TOPIC_PARTITIONS": "4", **extra},
        )

    def produce(self, messages: Iterable[bytes]) -> int:
        summary = asyncio.run(produce(self.bootstrap, iter(list(messages)), 4))
        assert summary.failed == 0
        return summary.sent

    def produce_raw(
        self, topic: str, records: Iterable[tuple[bytes | None, bytes | None, int | None]]
    ) -> int:
        """Publish exactly these (key, value, partition) records, as any client could."""

        async def send() -> int:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
            await producer.start()
            try:
                await ensure_topics(self.bootstrap, 4)
                futures = [
                    await producer.send(topic, value, key=key, partition=partition)
                    for key, value, partition in records
                ]
                for fut in futures:
                    await fut
                return len(futures)
            finally:
                await producer.stop()

        return asyncio.run(send())

    def pulse(
        self, *args: str, check: bool = True, input: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI as a user would; ``input`` is what they type on standard input."""
        result = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *args],
            env=self.env(**env),
            input=input,
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


def issue_token(stack: Stack, username: str, role: str, **scope: Any) -> str:
    """Create the API user (once) and a bearer token for them (``user_token``)."""
    return user_token(stack.database_url, username, role, **scope)


class Api:
    """A plain HTTP client of a worker's web server, as any caller would use it."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def as_(self, token: str | None) -> Api:
        api = Api(0, token)
        api.base = self.base
        return api

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, JSON body, or the raw bytes when it is not JSON)."""
        data = (
            None
            if body is None
            else (body if isinstance(body, bytes) else json.dumps(body).encode())
        )
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if key is not None:
            request.add_header("Idempotency-Key", key)
        if self.token is not None:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def post(self, path: str, body: object, key: str | None) -> tuple[int, Any]:
        return self.call("POST", path, body if body is not None else {}, key)

    def get(self, path: str) -> tuple[int, Any]:
        return self.call("GET", path)


def ops_get(worker: Worker, path: str) -> tuple[int, Any]:
    """GET one of Faust's own pages as ops would, once the worker's web server answers."""
    api = Api(worker.port, issue_token(worker.stack, "ops", "ops"))

    def answered() -> tuple[int, Any] | None:
        worker.assert_alive()
        try:
            return api.get(path)
        except OSError:
            return None

    return wait_until(answered, 60, f"the worker's answer to GET {path}")


def api_ready(worker: Worker, token: str | None) -> Api:
    """The worker's API once it answers pool queries (web server up, database reachable)."""
    api = Api(worker.port, token)

    def up() -> bool:
        worker.assert_alive()
        try:
            return api.get("/pools/none")[0] == 404
        except OSError:
            return False

    wait_until(up, 60, "the worker's web server")
    return api


class Worker:
    """``pulse worker`` as a subprocess, killable like a real one."""

    def __init__(
        self, stack: Stack, name: str = "worker", module: str = "pipeline.cli", **env: str
    ) -> None:
        self.stack = stack
        self.module = module
        self.port = free_port()
        self.log_path = stack.data_dir / f"{name}-{self.port}.log"
        self.env = stack.env(
            PULSE_WEB_PORT=str(self.port), PULSE_DATA_DIR=str(stack.data_dir / name), **env
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "worker"],
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


def metric(worker: Worker, name: str, **labels: str) -> float:
    """One value from the worker's /metrics, read as ops would (0 when it is not there yet)."""
    token = issue_token(worker.stack, "ops", "ops")
    request = urllib.request.Request(
        f"http://127.0.0.1:{worker.port}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return 0.0
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    series = f"{name}{{{want}}}" if want else name
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# Offsets committed only when a worker stops cleanly: a killed one leaves everything to replay.


def transaction(
    tid: str, syndicate: str, at: datetime, amount: str = "250.00", investor: str = "inv-1"
) -> dict[str, str]:
    """One message of the transactions contract, as a producer would write it."""
    return {
        "transaction_id": tid,
        "investor_id": investor,
        "syndicate_id": syndicate,
        "transaction_amount": amount,
        "transaction_date": at.isoformat().replace("+00:00", "Z"),
    }


CONSOLE_PASSWORD = "correct horse battery staple"
#: The console's users of the tests, by role: user name.
CONSOLE_USERS = {"admin": "root", "fund_manager": "ann", "investor": "ivy", "ops": "olga"}


def console_users(stack: Stack) -> dict[str, str]:
    """Fund managers ann (syn-a) and ben (syn-b), investor ivy (inv-a), olga (ops) and root (admin),
    made with the CLI as an operator would, each with ``CONSOLE_PASSWORD``; returns the managers' ids."""
    ids = {}
    for name, syndicate in (("ann", "syn-a"), ("ben", "syn-b")):
        ids[name] = stack.pulse(
            "managers",
            "add",
            "--name",
            name.title(),
            "--email",
            f"{name}@fund.example",
            "--channels",
            "email",
        ).stdout.strip()
        stack.pulse("managers", "assign", ids[name], syndicate)
    for username, role, scope in (
        ("root", "admin", ()),
        ("ann", "fund_manager", ("--manager-id", ids["ann"])),
        ("ben", "fund_manager", ("--manager-id", ids["ben"])),
        ("ivy", "investor", ("--investor-id", "inv-a")),
        ("olga", "ops", ()),
    ):
        stack.pulse("users", "create", username, "--role", role, *scope)
        stack.pulse("users", "set-password", username, input=CONSOLE_PASSWORD + "\n")
    return ids

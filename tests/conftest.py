from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pipeline.devtools.local_stack import (
    POSTGRES_FAST_SHUTDOWN,
    start_broker,
    start_postgres,
    stop_process,
)
from pipeline.devtools.standins import SesStandIn, TwilioStandIn
from pipeline.platform import db
from tests.harness import (
    TEST_CONSOLE_SECRET,
    TEST_ENCRYPTION_KEY,
    TEST_JWT_SECRET,
    Stack,
    Worker,
)

# Every process of the test run (pytest itself, CLI calls, workers) shares these secrets: without
# them each would generate its own under its data directory. Set before any settings are read.
os.environ.setdefault("PULSE_JWT_SECRET", TEST_JWT_SECRET)
os.environ.setdefault("PULSE_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
os.environ.setdefault("PULSE_CONSOLE_SECRET", TEST_CONSOLE_SECRET)


class PostgresServer:
    """The session's PostgreSQL; tests may stop and start it to inject an outage."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.url, self.pid = start_postgres(pgdata)

    def stop(self) -> None:
        stop_process(self.pid, POSTGRES_FAST_SHUTDOWN)

    def start(self) -> None:
        self.url, self.pid = start_postgres(self.pgdata)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One PostgreSQL for the session; each test gets a database of its own."""
    server = PostgresServer(tmp_path_factory.mktemp("pg") / "pgdata")
    yield server
    server.stop()


def database_url_for(server_url: str, name: str) -> str:
    base, _, query = server_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


@pytest.fixture
def database_url(postgres: PostgresServer) -> str:
    server_url = postgres.url
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(db.libpq_url(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url_for(server_url, name)
    db.upgrade(url)
    return url


@pytest.fixture
def stack(tmp_path: Path, database_url: str) -> Iterator[Stack]:
    """A broker of its own (Tansu starts in milliseconds) and a database of its own."""
    pid, port = start_broker(tmp_path / "broker.log")
    yield Stack(kafka_url=f"kafka://127.0.0.1:{port}", database_url=database_url, data_dir=tmp_path)
    stop_process(pid)


@pytest.fixture
def workers(stack: Stack) -> Iterator[list[Worker]]:
    """Workers started by a test; stopped, whatever happens."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    standin = TwilioStandIn()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def ses_endpoint() -> Iterator[str]:
    """moto's server as the SES endpoint, with a verified sender."""
    standin = SesStandIn()
    url = standin.start()
    assert url is not None, "moto is a dev dependency"
    yield url
    standin.stop()


@pytest.fixture
def aws_env(ses_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "AWS_ENDPOINT_URL_SES": ses_endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env

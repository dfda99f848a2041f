"""What a process needs to work against a given stack: the one builder of its ``PULSE_*``
environment, and API users with bearer tokens. Shared by the tests and the benchmarks."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from config import Settings
from models.access import InvalidUser, Principal
from pipeline.security import auth


@dataclass
class StackAddress:
    """Where a broker and a PostgreSQL are: what the tests' and the benchmarks' stacks share."""

    kafka_url: str
    database_url: str

    @property
    def bootstrap(self) -> str:
        return self.kafka_url.split("://", 1)[1]


def pulse_environment(
    kafka_url: str, database_url: str, data_dir: Path, **extra: str
) -> dict[str, str]:
    """This process's environment, pointed at the stack; ``extra`` wins."""
    return {
        **os.environ,
        "PULSE_KAFKA_URL": kafka_url,
        "PULSE_DATABASE_URL": database_url,
        "PULSE_DATA_DIR": str(data_dir),
        **extra,
    }


def user_token(
    database_url: str,
    username: str,
    role: str,
    manager_id: str | None = None,
    investor_id: str | None = None,
    ttl: timedelta = timedelta(hours=1),
) -> str:
    """Create the API user (once) and a bearer token for them, as `pulse users create` and
    `pulse tokens issue` would."""
    principal = Principal.define(username, role, manager_id, investor_id)
    with contextlib.suppress(InvalidUser):
        auth.create_user(database_url, principal)
    return auth.issue_token(Settings(), principal, ttl)


# A worker that never commits an offset: after a SIGKILL, its successor replays everything.
NO_COMMITS = {"PULSE_COMMIT_INTERVAL": "600", "PULSE_COMMIT_EVERY": "100000000"}

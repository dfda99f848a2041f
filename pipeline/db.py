"""Database plumbing: URLs, connections and migrations."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def iso(moment: datetime | None) -> str | None:
    """A timestamp for JSON output."""
    return None if moment is None else moment.isoformat()


def sqlalchemy_url(url: str) -> str:
    """The same database for SQLAlchemy, always through psycopg 3."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url}")


def libpq_url(url: str) -> str:
    """The same database for psycopg (libpq knows no '+driver' suffix)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = sqlalchemy_url(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; idempotent."""
    command.upgrade(alembic_config(url), revision)


def connect(url: str, **kwargs: object) -> psycopg.Connection:
    return psycopg.connect(libpq_url(url), **kwargs)  # type: ignore[arg-type]


async def connect_async(url: str, **kwargs: object) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(libpq_url(url), **kwargs)  # type: ignore[arg-type]

"""Logging: text or JSON lines (``PULSE_LOG_FORMAT``), with personal data redacted from every record."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+[1-9]\d{6,14}\b")
# Credentials: bearer tokens (JWTs), API keys, Fernet tokens (encrypted personal data).
_JWT = re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*")
_API_KEY = re.compile(r"\bpsk_[0-9a-f]{16}_[\w-]+")
_FERNET = re.compile(r"\bgAAAAA[\w=-]{20,}")
LEVELS = {"crit": "CRITICAL", "error": "ERROR", "warn": "WARNING", "info": "INFO", "debug": "DEBUG"}


def redact(text: str) -> str:
    text = _JWT.sub("[token]", text)
    text = _API_KEY.sub("[api-key]", text)
    text = _FERNET.sub("[encrypted]", text)
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


class TextFormatter(logging.Formatter):
    """Emails, phone numbers and credentials never reach a log line, whoever logged them, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(self._format(record))

    def _format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def logging_config(level: str, fmt: str) -> dict[str, Any]:
    """A dictConfig for Faust's worker and for ``pulse notifier``."""
    formatter = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {
            "()": TextFormatter,
            "format": "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
        }
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default"}},
        "root": {"level": LEVELS.get(level, level.upper()), "handlers": ["console"]},
    }

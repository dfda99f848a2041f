"""Contracts of the internal topics a worker reads (``alerts``, ``pool-commands``): decoding that
refuses, with a reason, anything our own code could not process. Pure.

Internal topics are inputs like any other: anyone with access to the cluster can write to them.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson

from models.errors import InvalidMessage

MAX_MESSAGE_BYTES = 64 * 1024
MAX_ID_LENGTH = 128
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
ALERT_KINDS = frozenset({"large_transaction", "spike"})


def load_object(raw: bytes | None) -> dict[str, Any]:
    """A JSON object of at most 64 KiB whose every string PostgreSQL (text and jsonb) can store."""
    if raw is None:
        raise InvalidMessage("empty", "message has no value")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(
            "too_large", f"message is {len(raw)} bytes, more than {MAX_MESSAGE_BYTES}"
        )
    try:
        doc = orjson.loads(raw)  # refuses lone surrogates and invalid UTF-8 itself
    except orjson.JSONDecodeError as exc:
        raise InvalidMessage("not_json", f"value is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidMessage("not_object", f"JSON value is a {type(doc).__name__}, not an object")
    check_text(doc, "message")
    return doc


def check_text(value: Any, where: str) -> None:
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            raise InvalidMessage("bad_text", f"{where} holds a NUL or a lone surrogate")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_text(k, f"{where} key")
            check_text(v, f"{where}.{k}"[:200])
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_text(v, f"{where}[{i}]")


def storable(value: str) -> bool:
    """Whether PostgreSQL can store this text (no NUL, no lone surrogate)."""
    return UNSTORABLE.search(value) is None


def text(
    doc: dict[str, Any], field: str, *, required: bool = True, max_length: int = MAX_ID_LENGTH
) -> str | None:
    value = doc.get(field)
    if value is None:
        if required:
            raise InvalidMessage("missing_field", f"{field} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidMessage("bad_field", f"{field} must be a non-empty string")
    if len(value) > max_length:
        raise InvalidMessage("bad_field", f"{field} is longer than {max_length} characters")
    return value


def uuid_text(doc: dict[str, Any], field: str) -> str:
    value = text(doc, field)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidMessage("bad_field", f"{field} {value!r} is not a UUID") from None


def decode_alert(raw: bytes | None) -> dict[str, Any]:
    """A message of topic ``alerts`` (models.anomaly.alert_message), checked as far as routing
    and rendering it need."""
    doc = load_object(raw)
    doc["alert_id"] = uuid_text(doc, "alert_id")
    kind = text(doc, "kind")
    if kind not in ALERT_KINDS:
        raise InvalidMessage("bad_field", f"kind {kind!r} is not one of {sorted(ALERT_KINDS)}")
    text(doc, "syndicate_id")
    for field in ("syndicate_name", "transaction_id"):
        text(doc, field, required=False, max_length=1000)
    for field in ("observed", "expected"):
        value = doc.get(field)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidMessage("bad_field", f"{field} must be a decimal string")
    for field in ("ratio", "event_time", "window_start", "window_end", "detected_at"):
        if doc.get(field) is not None and not isinstance(doc[field], str):
            raise InvalidMessage("bad_field", f"{field} must be a string")
    if doc.get("details") is not None and not isinstance(doc["details"], dict):
        raise InvalidMessage("bad_field", "details must be an object")
    return doc

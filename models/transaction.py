"""The ``transactions`` message contract: decoding and validation, exact and strict.

Hand-written rather than a pydantic model on purpose: pydantic reads JSON
numbers through float (``123456789012345678.11`` becomes ``...680``), and this
path runs once per message at tens of thousands of messages per second.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from models.errors import InvalidTransaction
from models.messages import storable
from models.money import MoneyError, parse_amount

MAX_MESSAGE_BYTES = 64 * 1024
MAX_ID_LENGTH = 128
DEFAULT_CURRENCY = "USD"
FIELDS = (
    "transaction_id",
    "investor_id",
    "syndicate_id",
    "transaction_amount",
    "transaction_date",
    "currency",
)
_CURRENCY = re.compile(r"[A-Z]{3}")
# The earliest event time accepted: the window arithmetic and every client reading the rows back
# (psycopg refuses years before 1) stay far from the edges of the calendar.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# RFC 3339: full date, 'T' (or space, as RFC 3339 section 5.6 allows), time, offset.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


@dataclass(frozen=True, slots=True)
class Transaction:
    transaction_id: str
    investor_id: str
    syndicate_id: str
    transaction_amount: Decimal
    transaction_date: datetime
    currency: str = DEFAULT_CURRENCY

    def to_json(self) -> dict[str, str]:
        return {
            "transaction_id": self.transaction_id,
            "investor_id": self.investor_id,
            "syndicate_id": self.syndicate_id,
            "transaction_amount": str(self.transaction_amount),
            "transaction_date": self.transaction_date.isoformat(),
            "currency": self.currency,
        }

    def same_content(self, other: Transaction) -> bool:
        """Equal as facts: the same instant and amount, however they were spelled."""
        return (
            self.investor_id == other.investor_id
            and self.syndicate_id == other.syndicate_id
            and self.transaction_amount == other.transaction_amount
            and self.transaction_date == other.transaction_date
            and self.currency == other.currency
        )


def decode_transaction(raw: bytes | None) -> Transaction:
    """Decode one message value, or raise :class:`InvalidTransaction` with the reason."""
    if raw is None:
        raise InvalidTransaction("empty", "message has no value")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidTransaction(
            "too_large", f"message is {len(raw)} bytes, more than {MAX_MESSAGE_BYTES}"
        )
    doc = _loads(raw)
    if not isinstance(doc, dict):
        raise InvalidTransaction(
            "not_object", f"JSON value is a {type(doc).__name__}, not an object"
        )
    return Transaction(
        transaction_id=_identifier(doc, "transaction_id"),
        investor_id=_identifier(doc, "investor_id"),
        syndicate_id=_identifier(doc, "syndicate_id"),
        transaction_amount=_amount(doc),
        transaction_date=_timestamp(doc),
        currency=_currency(doc),
    )


def _loads(raw: bytes) -> Any:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        doc = None
        fast = False
    else:
        fast = True
    # orjson reads fractions and integers beyond 64 bits as float: when a
    # contract field came out as a float, re-read the message exactly.
    if fast and not (type(doc) is dict and _has_float(doc)):
        return doc
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidTransaction("not_json", f"value is not valid JSON: {exc}") from None


def _has_float(doc: dict[str, Any]) -> bool:
    # Unrolled: this runs for every message, and a generator over FIELDS cost a third of decoding.
    get = doc.get
    return (
        type(get("transaction_amount")) is float
        or type(get("transaction_id")) is float
        or type(get("investor_id")) is float
        or type(get("syndicate_id")) is float
        or type(get("transaction_date")) is float
        or type(get("currency")) is float
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _identifier(doc: dict[str, Any], field: str) -> str:
    value = doc.get(field)
    if type(value) is str:
        text = value
    elif value is None:
        raise InvalidTransaction("missing_field", f"{field} is required")
    elif isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTransaction("bad_field", f"{field} must be a string or an integer")
    else:
        text = str(value)
    if not text or not text.strip():
        raise InvalidTransaction("bad_field", f"{field} must not be empty")
    if len(text) > MAX_ID_LENGTH:
        raise InvalidTransaction("bad_field", f"{field} is longer than {MAX_ID_LENGTH} characters")
    if not storable(text):
        raise InvalidTransaction("bad_text", f"{field} holds a NUL or a lone surrogate: {text!r}")
    return text


def _amount(doc: dict[str, Any]) -> Decimal:
    if "transaction_amount" not in doc or doc["transaction_amount"] is None:
        raise InvalidTransaction("missing_field", "transaction_amount is required")
    try:
        return parse_amount(doc["transaction_amount"])
    except MoneyError as exc:
        raise InvalidTransaction("bad_amount", str(exc)) from None


def _timestamp(doc: dict[str, Any]) -> datetime:
    value = doc.get("transaction_date")
    if value is None:
        raise InvalidTransaction("missing_field", "transaction_date is required")
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise InvalidTransaction(
            "bad_date", f"transaction_date {value!r} is not an RFC 3339 timestamp with an offset"
        )
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidTransaction("bad_date", f"transaction_date {value!r}: {exc}") from None
    if moment < EARLIEST:
        raise InvalidTransaction(
            "past_date", f"transaction_date {value!r} is before {EARLIEST.isoformat()}"
        )
    return moment


def _currency(doc: dict[str, Any]) -> str:
    value = doc.get("currency")
    if value is None:
        return DEFAULT_CURRENCY
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise InvalidTransaction("bad_currency", f"currency {value!r} is not an ISO 4217 code")
    return value

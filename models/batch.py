"""Triage of one consumed batch: decode, dedupe within the batch, route the bad ones.

Pure: the agent hands in raw messages, gets back what to write, what to
dead-letter and what to forward, and does the I/O itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.errors import InvalidTransaction
from models.transaction import Transaction, decode_transaction


@dataclass(frozen=True, slots=True)
class SourceMessage:
    """A message as consumed: where it came from and its original bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    # The record's timestamp (seconds since the epoch), where the consumer gave one.
    timestamp: float | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    transaction: Transaction
    source: SourceMessage


@dataclass(frozen=True, slots=True)
class DeadLetter:
    source: SourceMessage
    reason: str
    detail: str
    # The exception's type, for ``internal_error``: which code path the message broke.
    error_type: str | None = None


def internal_error(source: SourceMessage, exc: BaseException) -> DeadLetter:
    """A message whose content made our own code raise: set aside, never retried in a loop."""
    return DeadLetter(source, "internal_error", printable(repr(exc)), type(exc).__name__)


def printable(text: str, limit: int = 1000) -> str:
    """Detail text that PostgreSQL and a Kafka header can both hold."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")[:limit]


@dataclass
class Triage:
    accepted: list[Accepted] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    # Valid messages whose key is not their syndicate: re-published under the
    # right key so every syndicate's transactions meet in one partition.
    misrouted: list[Accepted] = field(default_factory=list)
    duplicates: int = 0


def conflict(source: SourceMessage, transaction_id: str) -> DeadLetter:
    return DeadLetter(
        source,
        "conflicting_duplicate",
        f"transaction_id {transaction_id!r} was already received with different content; "
        "the first one stands",
    )


def triage(
    messages: Iterable[SourceMessage],
    now: datetime,
    max_future: timedelta,
    partition_of: Callable[[bytes], int | None] = lambda key: None,
) -> Triage:
    """``now`` is the worker's clock: an event dated beyond ``now + max_future`` is refused, so one
    message cannot move a syndicate's event time into the future and silence its windows.
    ``partition_of`` names the partition a key belongs in (None: not known, take it as it comes)."""
    result = Triage()
    seen: dict[str, Transaction] = {}
    latest = now + max_future
    for message in messages:
        try:
            transaction = decode_transaction(message.value)
            if transaction.transaction_date > latest:
                raise InvalidTransaction(
                    "future_date",
                    f"transaction_date {transaction.transaction_date.isoformat()} is more than "
                    f"{max_future.total_seconds():.0f} s ahead of the worker's clock",
                )
            key = transaction.syndicate_id.encode()
            home = partition_of(key)
        except InvalidTransaction as exc:
            result.dead.append(DeadLetter(message, exc.reason, exc.detail))
            continue
        except Exception as exc:  # a decoder bug must not stop the worker
            result.dead.append(internal_error(message, exc))
            continue
        if message.key != key or (home is not None and home != message.partition):
            result.misrouted.append(Accepted(transaction, message))
            continue
        first = seen.get(transaction.transaction_id)
        if first is None:
            seen[transaction.transaction_id] = transaction
            result.accepted.append(Accepted(transaction, message))
        elif first.same_content(transaction):
            result.duplicates += 1
        else:
            result.dead.append(conflict(message, transaction.transaction_id))
    return result

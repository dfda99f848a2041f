"""Triage of one consumed batch: decode, dedupe within the batch, route the bad ones.

Pure: the agent hands in raw messages, gets back what to write, what to
dead-letter and what to forward, and does the I/O itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

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


@dataclass(frozen=True, slots=True)
class Accepted:
    transaction: Transaction
    source: SourceMessage


@dataclass(frozen=True, slots=True)
class DeadLetter:
    source: SourceMessage
    reason: str
    detail: str


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


def triage(messages: Iterable[SourceMessage]) -> Triage:
    result = Triage()
    seen: dict[str, Transaction] = {}
    for message in messages:
        try:
            transaction = decode_transaction(message.value)
        except InvalidTransaction as exc:
            result.dead.append(DeadLetter(message, exc.reason, exc.detail))
            continue
        except Exception as exc:  # a decoder bug must not stop the worker
            result.dead.append(DeadLetter(message, "internal_error", repr(exc)))
            continue
        if message.key != transaction.syndicate_id.encode():
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

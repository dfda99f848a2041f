"""The audit log's hash chain: what a row's hash covers and how a chain is checked. No I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """Who did what, when, under which request id, and how it ended (an HTTP status or exit code)."""

    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    request_id: str
    outcome: int
    detail: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""

    def canonical(self) -> bytes:
        doc = {
            "seq": self.seq,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "target": self.target,
            "request_id": self.request_id,
            "outcome": self.outcome,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def sealed(self) -> AuditEntry:
        return replace(self, hash=hashlib.sha256(self.canonical()).hexdigest())


def next_entry(previous: AuditEntry | None, **fields: Any) -> AuditEntry:
    """The entry that follows ``previous`` (None: the first), sealed with its hash."""
    seq = 1 if previous is None else previous.seq + 1
    prev_hash = GENESIS if previous is None else previous.hash
    return AuditEntry(seq=seq, prev_hash=prev_hash, **fields).sealed()


def verify_chain(entries: Iterable[AuditEntry]) -> list[str]:
    """Every break in the chain, in order: an edited row, a removed row, a reordered row."""
    problems: list[str] = []
    expected_seq, expected_prev = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(f"row {entry.seq}: expected row {expected_seq} (rows removed?)")
        if entry.prev_hash != expected_prev:
            problems.append(f"row {entry.seq}: does not follow the previous row's hash")
        if entry.sealed().hash != entry.hash:
            problems.append(f"row {entry.seq}: contents changed since it was written")
        expected_seq, expected_prev = entry.seq + 1, entry.hash
    return problems

"""The audit hash chain catches an edited, removed or reordered entry."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from models.audit import GENESIS, AuditEntry, next_entry, verify_chain


def chain(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    start = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    for i in range(n):
        entries.append(
            next_entry(
                entries[-1] if entries else None,
                at=start + timedelta(seconds=i),
                actor=f"user-{i % 3}",
                role="fund_manager",
                action="POST",
                target=f"/pools/p{i}/commitments",
                request_id=f"r{i}",
                outcome=201,
                detail={"route": "/pools/{pool_id}/commitments", "idempotency_key": f"k{i}"},
            )
        )
    return entries


def test_an_intact_chain_verifies_and_links_from_genesis():
    entries = chain(5)
    assert verify_chain(entries) == []
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))


@given(st.integers(min_value=0, max_value=7), st.sampled_from(["actor", "outcome", "target", "at"]))
def test_any_edited_field_of_any_row_is_found(index: int, field: str):
    entries = chain(8)
    value = {
        "actor": "mallory",
        "outcome": 500,
        "target": "/elsewhere",
        "at": entries[index].at + timedelta(microseconds=1),
    }[field]
    entries[index] = replace(entries[index], **{field: value})
    assert verify_chain(entries) == [f"row {index + 1}: contents changed since it was written"]


def test_a_removed_row_is_found_and_resealing_the_next_row_only_moves_the_break():
    entries = chain(6)
    del entries[2]
    assert verify_chain(entries) == [
        "row 4: expected row 3 (rows removed?)",
        "row 4: does not follow the previous row's hash",
    ]
    entries[2] = replace(entries[2], seq=3, prev_hash=entries[1].hash).sealed()
    assert verify_chain(entries) == [
        "row 5: expected row 4 (rows removed?)",
        "row 5: does not follow the previous row's hash",
    ]


def test_changes_to_detail_are_found_and_key_order_does_not_matter():
    entries = chain(2)
    reordered = replace(entries[1], detail=dict(reversed(list(entries[1].detail.items()))))
    assert verify_chain([entries[0], reordered]) == []
    edited = replace(entries[1], detail={**entries[1].detail, "idempotency_key": "x"})
    assert verify_chain([entries[0], edited]) == ["row 2: contents changed since it was written"]

"""The alert life cycle: only forward, acting twice changes nothing, notes and filters bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.alert_status import (
    Action,
    AlertStatus,
    Escalation,
    InvalidNote,
    InvalidQuery,
    alert_code,
    clean_filter,
    clean_note,
    decide,
    escalate,
    parse_instant,
)

OPEN, ACKED, RESOLVED = AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED


@pytest.mark.parametrize(
    ("current", "action", "after"),
    [
        (OPEN, Action.ACKNOWLEDGE, ACKED),
        (OPEN, Action.RESOLVE, RESOLVED),
        (ACKED, Action.RESOLVE, RESOLVED),
        (ACKED, Action.ACKNOWLEDGE, None),
        (RESOLVED, Action.RESOLVE, None),
        (RESOLVED, Action.ACKNOWLEDGE, None),
    ],
)
def test_an_alert_only_moves_forward(
    current: AlertStatus, action: Action, after: AlertStatus | None
) -> None:
    decision = decide(current, action)
    assert decision.before is current
    assert decision.after is after
    assert decision.changes is (after is not None)


def test_a_decision_says_what_happened() -> None:
    assert decide(OPEN, Action.ACKNOWLEDGE).describe("a-1") == "alert a-1 acknowledged"
    assert (
        decide(RESOLVED, Action.ACKNOWLEDGE).describe("a-1")
        == "alert a-1 is already resolved; nothing changed"
    )


def test_notes_are_trimmed_bounded_and_storable() -> None:
    assert clean_note(None) is None
    assert clean_note("  on it \n") == "on it"
    assert clean_note("   ") is None
    assert clean_note("é" * 2000) == "é" * 2000
    for bad in ("x" * 2001, "a\x00b", "lone \ud800", 7):
        with pytest.raises(InvalidNote):
            clean_note(bad)  # type: ignore[arg-type]


def test_filters_refuse_what_postgresql_cannot_compare() -> None:
    assert clean_filter("syndicate_id", None) is None
    assert clean_filter("syndicate_id", "syn|a:b/c") == "syn|a:b/c"
    for bad in ("a\x00b", "\udfff", "s" * 129):
        with pytest.raises(InvalidQuery):
            clean_filter("syndicate_id", bad)


def test_since_needs_an_offset() -> None:
    assert parse_instant(None) is None
    assert parse_instant("2026-05-04T09:00:00Z") == datetime(2026, 5, 4, 9, tzinfo=UTC)
    assert parse_instant("2026-05-04 09:00:00+00:00") == datetime(2026, 5, 4, 9, tzinfo=UTC)
    # "+00:00" unencoded in a query string arrives as a space.
    assert parse_instant("2026-05-04T11:00:00.5 02:00") == datetime(
        2026, 5, 4, 9, 0, 0, 500000, tzinfo=UTC
    )
    for bad in ("yesterday", "2026-05-04T09:00:00", "2026-13-01T00:00:00Z"):
        with pytest.raises(InvalidQuery):
            parse_instant(bad)


def test_an_alert_code_is_the_start_of_its_id() -> None:
    assert alert_code("35f470c8-1111-4222-8333-444455556666") == "35f470c8"


DEADLINE = datetime(2026, 5, 4, 9, 15, tzinfo=UTC)


def test_escalation_goes_to_the_next_level_with_managers() -> None:
    step = escalate(1, [2, 3, 3], DEADLINE, 900)
    assert step.level == 2
    assert step.next_deadline == datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    # Levels may skip: the next one that has managers.
    assert escalate(1, [4], DEADLINE, 900) == Escalation(4, None)
    # The last level: notified, no deadline after it.
    assert escalate(2, [2, 3], DEADLINE, 60) == Escalation(3, None)


def test_escalation_ends_without_levels_above_or_when_turned_off() -> None:
    assert escalate(3, [1, 2, 3], DEADLINE, 900) == Escalation(None, None)
    assert escalate(1, [], DEADLINE, 900) == Escalation(None, None)
    assert escalate(1, [2, 3], DEADLINE, 0) == Escalation(None, None)

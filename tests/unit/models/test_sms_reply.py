"""What a manager can text back: ACK <code>, STOP, START; anything else is help."""

from __future__ import annotations

import pytest

from models.sms_reply import Ack, Start, Stop, Unknown, code_range, parse_reply


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        ("ACK 35f470c8", Ack("35f470c8")),
        ("  ack\t35F470C8 \n", Ack("35f470c8")),
        ("STOP", Stop()),
        ("unsubscribe", Stop()),
        ("Start", Start()),
        ("yes", Start()),
        ("ACK", Unknown()),
        ("ACK 35f470c", Unknown()),
        ("ACK 35f470c8 please", Unknown()),
        ("ACK zzzzzzzz", Unknown()),
        ("ACK 35f470c8-1111", Unknown()),
        ("", Unknown()),
        (None, Unknown()),
        ("\x00ACK 35f470c8", Unknown()),
        ("STOP" * 1000, Unknown()),
    ],
)
def test_replies_are_read_strictly(body: str | None, parsed: object) -> None:
    assert parse_reply(body) == parsed


def test_a_code_spans_the_ids_that_start_with_it() -> None:
    low, high = code_range("35f470c8")
    assert low <= "35f470c8-1111-4222-8333-444455556666" <= high
    assert not low <= "35f470c9-0000-0000-0000-000000000000" <= high

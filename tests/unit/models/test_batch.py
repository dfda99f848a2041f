from datetime import UTC, datetime, timedelta

import orjson
import pytest

from models import batch
from models.batch import SourceMessage

NOW = datetime(2026, 3, 1, 10, 20, tzinfo=UTC)
FUTURE = timedelta(seconds=300)


def triage(messages, partition_of=lambda key: None):  # type: ignore[no-untyped-def]
    return batch.triage(messages, NOW, FUTURE, partition_of)


def message(
    offset: int, doc: object, key: bytes | None = b"syn-1", partition: int = 0
) -> SourceMessage:
    value = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    return SourceMessage("transactions", partition, offset, key, value)


def tx(tid: str, amount: str = "10.00", syndicate: str = "syn-1") -> dict[str, str]:
    return {
        "transaction_id": tid,
        "investor_id": "inv-1",
        "syndicate_id": syndicate,
        "transaction_amount": amount,
        "transaction_date": "2026-03-01T10:15:00Z",
    }


def test_valid_messages_are_accepted_in_order():
    result = triage([message(0, tx("a")), message(1, tx("b"))])
    assert [a.transaction.transaction_id for a in result.accepted] == ["a", "b"]
    assert [a.source.offset for a in result.accepted] == [0, 1]
    assert result.dead == []
    assert result.duplicates == 0


def test_identical_redelivery_within_a_batch_is_a_duplicate_not_a_row():
    result = triage([message(0, tx("a")), message(1, tx("a"))])
    assert len(result.accepted) == 1
    assert result.duplicates == 1
    assert result.dead == []


def test_conflicting_duplicate_goes_to_the_dead_letters_and_the_first_wins():
    result = triage([message(0, tx("a", "10.00")), message(1, tx("a", "11.00"))])
    assert [a.transaction.transaction_amount for a in result.accepted] == [10]
    assert [(d.reason, d.source.offset) for d in result.dead] == [("conflicting_duplicate", 1)]


def test_bad_messages_keep_their_source_and_bytes():
    result = triage([message(5, b"{oops", key=None)])
    (letter,) = result.dead
    assert letter.reason == "not_json"
    assert letter.source.value == b"{oops"
    assert (letter.source.partition, letter.source.offset) == (0, 5)


def test_messages_keyed_by_something_else_than_their_syndicate_are_rerouted():
    result = triage(
        [message(0, tx("a", syndicate="syn-2"), key=b"syn-1"), message(1, tx("b"), key=None)]
    )
    assert [m.transaction.transaction_id for m in result.misrouted] == ["a", "b"]
    assert result.accepted == []


def test_a_right_key_on_the_wrong_partition_is_rerouted():
    home = {b"syn-1": 2}.get
    result = triage(
        [message(0, tx("a"), partition=2), message(1, tx("b"), partition=3)], partition_of=home
    )
    assert [a.transaction.transaction_id for a in result.accepted] == ["a"]
    assert [m.transaction.transaction_id for m in result.misrouted] == ["b"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("syndicate_id", r"s\u0000"),
        ("syndicate_id", r"\ud800"),
        ("transaction_id", r"t\udfff"),
        ("investor_id", r"\u0000"),
        ("investor_id", r"a\ud83d"),  # a high surrogate without its low half
    ],
)
def test_text_postgresql_cannot_store_is_a_dead_letter_with_bad_text(field, value):
    doc = tx("a")
    raw = orjson.dumps(doc).replace(f'"{doc[field]}"'.encode(), f'"{value}"'.encode(), 1)
    result = triage([message(0, raw), message(1, tx("b"))])
    assert [d.reason for d in result.dead] == ["bad_text"]
    assert [a.transaction.transaction_id for a in result.accepted] == ["b"]
    assert "\x00" not in result.dead[0].detail  # the detail itself is storable


def test_a_date_beyond_the_future_bound_is_refused_and_one_within_it_is_not():
    at_bound = {**tx("a"), "transaction_date": (NOW + FUTURE).isoformat()}
    past_bound = {**tx("b"), "transaction_date": (NOW + FUTURE + timedelta(seconds=1)).isoformat()}
    far = {**tx("c"), "transaction_date": "9999-12-31T23:59:59-23:59"}
    result = triage([message(0, at_bound), message(1, past_bound), message(2, far)])
    assert [a.transaction.transaction_id for a in result.accepted] == ["a"]
    assert [(d.reason, d.source.offset) for d in result.dead] == [
        ("future_date", 1),
        ("future_date", 2),
    ]


@pytest.mark.parametrize(
    "date", ["1969-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "1900-01-01T00:00:00Z"]
)
def test_dates_before_1970_are_refused_as_past_date(date):
    result = triage([message(0, {**tx("a"), "transaction_date": date})])
    assert [d.reason for d in result.dead] == ["past_date"]


def test_an_exception_in_triage_dead_letters_the_message_with_its_type():
    def broken(key: bytes) -> int:
        raise ZeroDivisionError("boom")

    result = triage([message(0, tx("a"))], partition_of=broken)
    (letter,) = result.dead
    assert (letter.reason, letter.error_type) == ("internal_error", "ZeroDivisionError")

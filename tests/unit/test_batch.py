import orjson

from models.batch import SourceMessage, triage


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

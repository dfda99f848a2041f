from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest

from models.errors import InvalidTransaction
from models.transaction import MAX_MESSAGE_BYTES, decode_transaction

VALID = {
    "transaction_id": "t-1",
    "investor_id": "inv-1",
    "syndicate_id": "syn-1",
    "transaction_amount": "1500.25",
    "transaction_date": "2026-03-01T10:15:00Z",
}


def encode(doc: object) -> bytes:
    return orjson.dumps(doc)


def with_(**changes: object) -> bytes:
    doc = {**VALID, **changes}
    return encode({k: v for k, v in doc.items() if v is not ...})


def test_decodes_a_valid_message():
    t = decode_transaction(encode(VALID))
    assert t.transaction_id == "t-1"
    assert t.transaction_amount == Decimal("1500.25")
    assert t.transaction_date == datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    assert t.currency == "USD"


def test_integer_ids_become_decimal_strings_and_unknown_fields_are_ignored():
    t = decode_transaction(with_(transaction_id=42, investor_id=7, syndicate_id=99, extra={"x": 1}))
    assert (t.transaction_id, t.investor_id, t.syndicate_id) == ("42", "7", "99")


def test_json_number_amounts_are_exact_never_float():
    raw = (
        b'{"transaction_id":"t","investor_id":"i","syndicate_id":"s",'
        b'"transaction_amount":123456789012345678.11,"transaction_date":"2026-01-01T00:00:00+00:00"}'
    )
    assert decode_transaction(raw).transaction_amount == Decimal("123456789012345678.11")


def test_huge_integer_ids_beyond_64_bits_are_kept_exactly():
    raw = with_(transaction_id=...).replace(
        b"{", b'{"transaction_id":123456789012345678901234567890,', 1
    )
    assert decode_transaction(raw).transaction_id == "123456789012345678901234567890"


def test_offsets_are_kept_and_instants_compare_equal():
    t = decode_transaction(with_(transaction_date="2026-03-01T12:15:00+02:00"))
    assert t.transaction_date.utcoffset() == timedelta(hours=2)
    assert t.transaction_date == datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    assert decode_transaction(
        with_(transaction_date="2026-03-01 10:15:00.5-05:30")
    ).transaction_date.tzinfo == (timezone(-timedelta(hours=5, minutes=30)))


def test_currency_is_optional_and_checked():
    assert decode_transaction(with_(currency="EUR")).currency == "EUR"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not_json"),
        (b"", "not_json"),
        (b'{"a": NaN}', "not_json"),
        (b"\xff\xfe", "not_json"),
        (b"[1, 2]", "not_object"),
        (b'"a string"', "not_object"),
        (b"null", "not_object"),
        (None, "empty"),
        (with_(transaction_id=...), "missing_field"),
        (with_(investor_id=...), "missing_field"),
        (with_(syndicate_id=...), "missing_field"),
        (with_(transaction_amount=...), "missing_field"),
        (with_(transaction_date=...), "missing_field"),
        (with_(transaction_id=None), "missing_field"),
        (with_(transaction_id=""), "bad_field"),
        (with_(transaction_id="   "), "bad_field"),
        (with_(transaction_id=True), "bad_field"),
        (with_(investor_id=1.5), "bad_field"),
        (with_(syndicate_id={"id": 1}), "bad_field"),
        (with_(syndicate_id="x" * 129), "bad_field"),
        (with_(transaction_amount="0"), "bad_amount"),
        (with_(transaction_amount="-1.00"), "bad_amount"),
        (with_(transaction_amount="1.005"), "bad_amount"),
        (with_(transaction_amount="ten"), "bad_amount"),
        (with_(transaction_amount=[1]), "bad_amount"),
        (with_(transaction_amount=True), "bad_amount"),
        (with_(transaction_date="2026-03-01T10:15:00"), "bad_date"),  # no offset
        (with_(transaction_date="2026-03-01"), "bad_date"),
        (with_(transaction_date="2026-02-30T10:15:00Z"), "bad_date"),
        (with_(transaction_date="yesterday"), "bad_date"),
        (with_(transaction_date=1700000000), "bad_date"),
        (with_(currency="usd"), "bad_currency"),
        (with_(currency="DOLLARS"), "bad_currency"),
        (with_(filler="x" * MAX_MESSAGE_BYTES), "too_large"),
    ],
)
def test_every_contract_violation_has_a_reason(raw, reason):
    with pytest.raises(InvalidTransaction) as caught:
        decode_transaction(raw)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_json_number_amount_with_three_decimals_is_refused_exactly():
    raw = with_(transaction_amount=...).replace(b"{", b'{"transaction_amount":1.005,', 1)
    with pytest.raises(InvalidTransaction, match="more than 2 decimal places"):
        decode_transaction(raw)


def test_same_content_compares_facts_not_spelling():
    a = decode_transaction(with_(transaction_amount="100", transaction_date="2026-03-01T10:15:00Z"))
    b = decode_transaction(
        with_(transaction_amount="1e2", transaction_date="2026-03-01T11:15:00+01:00")
    )
    c = decode_transaction(with_(transaction_amount="100.01"))
    assert a.same_content(b)
    assert not a.same_content(c)

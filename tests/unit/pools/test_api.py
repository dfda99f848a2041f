"""Request bodies: size, nesting depth, string lengths and decimal bounds, each refused with a reason."""

from __future__ import annotations

import json

import pytest

from pipeline.platform.json_bodies import ApiError, json_depth, parse_body
from pipeline.pools.api import CommitmentBody, CreatePoolBody, DistributionBody

POOL = {
    "name": "Fund I",
    "target_size": "100000.00",
    "hard_cap": "150000.00",
    "manager_id": "m-1",
}


def refused(raw: bytes, model: type = CreatePoolBody, **limits: int) -> ApiError:
    with pytest.raises(ApiError) as info:
        parse_body(raw, model, **limits)
    return info.value


def test_json_depth_counts_nesting_and_ignores_brackets_in_strings():
    assert json_depth(b'{"a": 1}') == 1
    assert json_depth(b'{"a": [{"b": [1]}]}') == 4
    assert json_depth(b'{"a": "[[[[{{{{\\"[[["}') == 1
    assert json_depth(b"[" * 10_000 + b"]" * 10_000) == 10_000


def test_an_oversized_body_is_413():
    body = json.dumps(POOL | {"name": "x" * 70_000}).encode()
    error = refused(body)
    assert error.status == 413
    assert "65536" in error.body["error"]
    assert refused(json.dumps(POOL).encode(), max_bytes=20).status == 413


def test_a_deeply_nested_body_is_422_before_it_is_parsed():
    deep = b'{"name": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    error = refused(deep)
    assert error.status == 422
    assert error.body == {"error": "JSON nested deeper than 8 levels"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "x" * 201}, "name"),
        ({"manager_id": "m" * 129}, "manager_id"),
        ({"manager_id": " padded "}, "manager_id"),
        ({"currency": "usd"}, "currency"),
        ({"target_size": "1e30"}, "target_size"),
        ({"target_size": "123456789012345678901.00"}, "target_size"),
        ({"target_size": "10.001"}, "target_size"),
        ({"target_size": "-5.00"}, "target_size"),
        ({"target_size": "NaN"}, "target_size"),
        ({"target_size": "Infinity"}, "target_size"),
        ({"hard_cap": 1e308}, "hard_cap"),
        ({"extra": "field"}, "extra"),
    ],
)
def test_strings_and_decimals_out_of_bounds_are_422_naming_the_field(change: dict, field: str):
    error = refused(json.dumps(POOL | change).encode())
    assert error.status == 422
    assert field in [e["field"] for e in error.body["errors"]]


def test_json_nan_and_infinity_literals_are_refused():
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        error = refused(b'{"amount": ' + literal + b"}", DistributionBody)
        assert error.status == 422


def test_amounts_within_bounds_are_exact_decimals():
    body = parse_body(b'{"investor_id": "i-1", "amount": 123456789012345678.91}', CommitmentBody)
    assert str(body.amount) == "123456789012345678.91"  # type: ignore[attr-defined]

"""Malformed and valid-but-hostile messages for every topic a worker reads."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.chaos.scenario import T0


def _dumps(value: object) -> bytes:
    # The standard library: orjson refuses integers beyond 64 bits, which are exactly what a fuzzer sends.
    return json.dumps(value).encode()


def fuzzed_messages(count: int, seed: int) -> list[bytes]:
    """Malformed messages from hypothesis, invalid by construction: not JSON objects, a required field
    missing, or one field replaced by a wrong value."""
    base = {
        "transaction_id": "f",
        "investor_id": "i",
        "syndicate_id": "s",
        "transaction_amount": "10.00",
        "transaction_date": "2026-03-01T10:00:00Z",
    }
    json_values = st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=10,
    )
    not_objects = st.one_of(
        st.binary(max_size=200).filter(lambda b: not b.strip().startswith(b"{")),
        json_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: _dumps(v)),
    )
    missing = st.sampled_from(sorted(base)).map(
        lambda k: _dumps({f: v for f, v in base.items() if f != k})
    )
    bad_values = {
        "transaction_amount": st.one_of(
            st.just("-1.00"),
            st.just("0"),
            st.just("1.001"),
            st.text(alphabet="abc", max_size=5),
            st.booleans(),
            st.lists(st.integers(), max_size=2),
        ),
        "transaction_date": st.one_of(
            st.just("2026-03-01T10:00:00"), st.text(max_size=12), st.integers()
        ),
        "transaction_id": st.one_of(
            st.just(""),
            st.booleans(),
            st.floats(allow_nan=False),
            st.text(min_size=129, max_size=140),
        ),
        "currency": st.one_of(st.just("usd"), st.just("DOLLARS"), st.integers()),
    }
    wrong = st.sampled_from(sorted(bad_values)).flatmap(
        lambda k: bad_values[k].map(lambda v, k=k: _dumps({**base, k: v}))
    )
    out: list[bytes] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(st.one_of(not_objects, missing, wrong))
    def collect(message: bytes) -> None:
        out.append(message)

    collect()
    rng = random.Random(seed)
    while len(out) < count:  # hypothesis may stop early when it has seen everything small
        out.append(rng.choice(out) + b" ")
    return out[:count]


# Valid but hostile: stored and counted like any other transaction.
_ODD_IDS = [
    "a/b",
    "a/b/c",
    "x|y:z",
    "back\\slash",
    "tab\tinside",
    "caf\u00e9",
    "\U0001f680-rocket",
    "\u202eRTL",
    "e\u0301",
    "k" * 128,
    "\u00e9" * 128,
]


_ODD_OFFSETS = ["Z", "+14:00", "-12:00", "+05:45", "-00:00"]


# Hostile and invalid: each must be dead-lettered with this reason.
_BAD_TEXT = ["\x00", "\ud800", "\udfff", "a\ud83d", "\x00\x00"]


def hostile_transactions(
    count: int, hours: float, seed: int
) -> list[tuple[bytes, dict | None, str]]:
    """(value, the record when it is valid, the dead-letter reason when it is not)."""
    rng = random.Random(seed)
    out: list[tuple[bytes, dict | None, str]] = []
    end = T0 + timedelta(hours=hours)
    for n in range(count):
        moment = T0 + timedelta(seconds=rng.uniform(0, hours * 3600))
        offset = rng.choice(_ODD_OFFSETS)
        record: dict = {
            "transaction_id": f"hostile-{n}/{rng.choice(_ODD_IDS)}"[:128],
            "investor_id": rng.choice([rng.choice(_ODD_IDS), 2**70 + n, f"inv-{n % 7}"]),
            "syndicate_id": f"odd-{rng.choice(_ODD_IDS)}"[:128],
            "transaction_amount": rng.choice(
                ["999999999999999999.99", "0.01", "1e2", 999999999999999999, "12.30"]
            ),
            "transaction_date": _stamp(moment, offset),
        }
        kind = rng.random()
        if kind < 0.5:
            out.append((json.dumps(record).encode(), record, ""))
            continue
        if kind < 0.75:
            field = rng.choice(["transaction_id", "investor_id", "syndicate_id"])
            text = str(record[field])[:120]
            cut = rng.randint(0, len(text))
            record[field] = text[:cut] + rng.choice(_BAD_TEXT) + text[cut:]
            reason = "bad_text"
        elif kind < 0.85:
            later = end + timedelta(days=rng.randint(365, 365 * 7000))
            record["transaction_date"] = _stamp(
                min(later, datetime(9999, 1, 1, tzinfo=UTC)), offset
            )
            reason = "future_date"
        elif kind < 0.95:
            year = rng.randint(1, 1969)
            record["transaction_date"] = f"{year:04d}-06-01T00:00:00{offset}"
            reason = "past_date"
        else:
            record["transaction_amount"] = rng.choice(["1000000000000000000", "1e400", "1e-400"])
            reason = "bad_amount"
        # ensure_ascii: lone surrogates travel as JSON escapes, as a hostile producer sends them.
        out.append((json.dumps(record, ensure_ascii=True).encode(), None, reason))
    return out


def _stamp(moment: datetime, offset: str) -> str:
    if offset in ("Z", "-00:00"):
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + offset
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S.%f") + offset


def hostile_internal(count: int, seed: int) -> dict[str, list[bytes]]:
    """Messages for the internal topics that break their contracts, each in its own way."""
    rng = random.Random(seed)
    alert = {
        "alert_id": "2f1e4a7c-5b3d-4c2e-9a1f-0b6c8d7e5f43",
        "kind": "spike",
        "syndicate_id": "odd",
        "observed": "12",
        "expected": "1.00",
        "details": {},
    }
    command = {
        "idempotency_key": "k",
        "request_hash": "h",
        "type": "commit",
        "pool_id": "p",
        "data": {},
    }
    junk = [None, True, 1, 2**80, [1], {"a": 1}, "", "\x00", "\ud800", "not a uuid", "x" * 500]
    out: dict[str, list[bytes]] = {"alerts": [], "pool-commands": []}
    for topic, doc, fields in (
        ("alerts", alert, ["alert_id", "kind", "syndicate_id", "observed", "details"]),
        ("pool-commands", command, ["type", "pool_id", "data", "idempotency_key"]),
    ):
        bad = fuzzed_messages(count // 2, seed)  # not even JSON objects, most of them
        for _ in range(count - len(bad)):
            field = rng.choice(fields)
            value = rng.choice([j for j in junk if not _valid(topic, field, j)])
            bad.append(json.dumps({**doc, field: value}, ensure_ascii=True).encode())
        out[topic] = bad
    return out


def _valid(topic: str, field: str, value: object) -> bool:
    """Whether ``value`` would pass in ``field`` (such values are left out: they are not hostile)."""
    if field in ("observed",):
        return isinstance(value, str | int) and not isinstance(value, bool)
    if field == "details":
        return value is None or isinstance(value, dict)
    if field == "data":
        return isinstance(value, dict)
    ok_text = isinstance(value, str) and bool(value.strip()) and "\x00" not in value
    ok_text = (
        ok_text
        and "\ud800" not in value
        and len(value) <= (400 if field == "idempotency_key" else 128)
    )
    if field == "alert_id" or field == "kind" or field == "type":
        return False  # none of the junk is a UUID, an alert kind or a command type
    return ok_text

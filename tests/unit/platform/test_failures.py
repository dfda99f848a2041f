import asyncio
import decimal

import psycopg
import pytest
from aiokafka import errors as kafka_errors
from psycopg import errors as pg_errors

from pipeline.platform.consuming import isolate
from pipeline.platform.failures import Failure, classify


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (psycopg.OperationalError("server closed the connection"), Failure.TRANSIENT),
        (pg_errors.QueryCanceled("statement timeout"), Failure.TRANSIENT),
        (pg_errors.DeadlockDetected("deadlock"), Failure.TRANSIENT),
        (kafka_errors.KafkaConnectionError("down"), Failure.TRANSIENT),
        (ConnectionResetError(), Failure.TRANSIENT),
        (pg_errors.NumericValueOutOfRange("overflow"), Failure.CONTENT),
        (pg_errors.CharacterNotInRepertoire("bad text"), Failure.CONTENT),
        (pg_errors.UntranslatableCharacter("\\u0000"), Failure.CONTENT),
        (pg_errors.CheckViolation("check"), Failure.CONTENT),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), Failure.CONTENT),
        (KeyError("kind"), Failure.CONTENT),
        (TypeError("unhashable type: 'list'"), Failure.CONTENT),
        (decimal.InvalidOperation(), Failure.CONTENT),
        (OverflowError("date value out of range"), Failure.CONTENT),
        (pg_errors.UndefinedColumn("no such column"), Failure.BUG),
        (AttributeError("x"), Failure.BUG),
        (AssertionError(), Failure.BUG),
        (RuntimeError("?"), Failure.BUG),
    ],
)
def test_every_failure_has_one_kind(exc: BaseException, kind: Failure):
    assert classify(exc) is kind


def write_all_but(poison: set[int], calls: list[list[int]]):  # type: ignore[no-untyped-def]
    async def attempt(chunk):  # type: ignore[no-untyped-def]
        calls.append(list(chunk))
        if poison & set(chunk):
            raise pg_errors.NumericValueOutOfRange("out of range")
        return list(chunk)

    return attempt


@pytest.mark.parametrize("poison", [set(), {0}, {37}, {99}, {3, 4}, {10, 50, 90}])
def test_isolate_writes_everything_but_the_poisoned_in_order(poison: set[int]):
    calls: list[list[int]] = []
    bad: list[int] = []
    parts = asyncio.run(
        isolate(list(range(100)), write_all_but(poison, calls), lambda item, exc: bad.append(item))
    )
    written = [i for part in parts for i in part]
    assert written == [i for i in range(100) if i not in poison]
    assert sorted(bad) == sorted(poison)
    assert len(calls) <= 1 + 2 * 7 * max(1, len(poison))  # about 2·log2(n) per poisoned item


def test_isolate_does_not_blame_a_message_for_a_bug_or_an_outage():
    async def broken(chunk):  # type: ignore[no-untyped-def]
        raise pg_errors.UndefinedTable("no such table")

    with pytest.raises(pg_errors.UndefinedTable):
        asyncio.run(isolate([1, 2, 3], broken, lambda item, exc: None))

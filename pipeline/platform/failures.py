"""Which failures are which: the one place that decides what happens when processing raises.

- **transient**: the database or the broker is unreachable, busy or restarting. The same work is
  retried, with back-off, until it passes; nothing is acknowledged meanwhile.
- **content**: one message's content made our code or PostgreSQL refuse it (a value out of range,
  text PostgreSQL cannot store, a type our code did not expect). The batch is split until the
  message is alone; it then goes to a dead-letter topic with reason ``internal_error`` and the
  exception's type, and everything else is processed.
- **bug**: anything else (an undefined column, an attribute error, a broken invariant). It is not
  about one message, so no message is blamed: the process stops at once and acknowledges nothing;
  the batch is redelivered to whoever runs next.
"""

from __future__ import annotations

import enum
import logging
import os

import psycopg
from aiokafka import errors as kafka_errors
from psycopg import errors as pg_errors

log = logging.getLogger(__name__)
EXIT_INTERNAL_ERROR = 70


class Failure(enum.Enum):
    TRANSIENT = "transient"
    CONTENT = "content"
    BUG = "bug"


TRANSIENT: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,  # connection lost, server shutting down, lock or statement timeout
    psycopg.InterfaceError,
    pg_errors.DeadlockDetected,
    pg_errors.SerializationFailure,
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.NotLeaderForPartitionError,
    kafka_errors.LeaderNotAvailableError,
    ConnectionError,
    TimeoutError,
    OSError,
)

CONTENT: tuple[type[BaseException], ...] = (
    psycopg.DataError,  # 22xxx: out of range, untranslatable character, bad text representation
    psycopg.IntegrityError,  # 23xxx: a CHECK or key the values break
    ValueError,  # UnicodeError and the decoders' own refusals included
    TypeError,
    LookupError,  # KeyError, IndexError
    ArithmeticError,  # OverflowError, decimal.InvalidOperation
    RecursionError,
)


def classify(exc: BaseException) -> Failure:
    # Transient first: some connection errors are OSError subclasses of content-looking types.
    if isinstance(exc, TRANSIENT):
        return Failure.TRANSIENT
    if isinstance(exc, CONTENT):
        return Failure.CONTENT
    return Failure.BUG


def stop_hard(what: str) -> None:
    """Stop the process without acknowledging anything: no shutdown code runs, so no offset of
    work in flight can be committed. Call from inside an ``except`` block (the traceback is logged)."""
    log.critical(
        "%s failed unexpectedly; stopping hard so nothing is acknowledged", what, exc_info=True
    )
    logging.shutdown()
    os._exit(EXIT_INTERNAL_ERROR)

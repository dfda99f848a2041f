"""An alert's life cycle: open → acknowledged → resolved (resolve also straight from open). Pure.

Acting twice is not an error: a manager who acknowledges an alert a colleague already acknowledged
(or taps the email link twice) is told so and nothing changes. Going back is refused: a resolved
alert is not acknowledged again, it stays resolved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from models.errors import PulseError
from models.messages import MAX_ID_LENGTH, storable


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class Via(StrEnum):
    """How a transition was made: stored with it, for the audit and the console."""

    CLI = "cli"
    HTTP = "http"
    SMS = "sms"
    EMAIL = "email"
    CONSOLE = "console"


_TARGET = {Action.ACKNOWLEDGE: AlertStatus.ACKNOWLEDGED, Action.RESOLVE: AlertStatus.RESOLVED}
_ORDER = {AlertStatus.OPEN: 0, AlertStatus.ACKNOWLEDGED: 1, AlertStatus.RESOLVED: 2}
MAX_NOTE_LENGTH = 2000
ALERT_CODE = re.compile(r"[0-9a-f]{8}")
_PLUS_AS_SPACE = re.compile(r"^(.*\d[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?) (\d{2}:\d{2})$")


class UnknownAlert(PulseError):
    """No alert with this id (or none the caller may see)."""


class InvalidNote(PulseError):
    """A note that cannot be stored."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What an action does to an alert in ``before``: ``after`` is None when nothing changes."""

    before: AlertStatus
    after: AlertStatus | None

    @property
    def changes(self) -> bool:
        return self.after is not None

    def describe(self, alert_id: str) -> str:
        if self.after is not None:
            return f"alert {alert_id} {self.after.value}"
        return f"alert {alert_id} is already {self.before.value}; nothing changed"


def decide(current: AlertStatus, action: Action) -> Decision:
    """Only forward: to the action's status when the alert has not reached it (or gone past it)."""
    target = _TARGET[action]
    if _ORDER[current] >= _ORDER[target]:
        return Decision(current, None)
    return Decision(current, target)


def clean_note(note: str | None) -> str | None:
    """A note PostgreSQL can store and a screen can show: no NUL, no lone surrogate, bounded."""
    if note is None:
        return None
    if not isinstance(note, str):
        raise InvalidNote("note must be a string")
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidNote(f"note is longer than {MAX_NOTE_LENGTH} characters")
    if not storable(note):
        raise InvalidNote("note holds a NUL or a lone surrogate")
    stripped = note.strip()
    return stripped or None


def alert_code(alert_id: str) -> str:
    """The short name an SMS gives an alert: the first 8 characters of its id."""
    return str(alert_id)[:8]


class InvalidQuery(PulseError):
    """A listing filter that cannot be understood."""


def parse_instant(text: str | None, name: str = "since") -> datetime | None:
    """An RFC 3339 instant with its UTC offset, as a filter or an option (``name``) takes it."""
    if text is None:
        return None
    # An unencoded "+00:00" in a query string arrives as " 00:00": read it as it was meant.
    text = _PLUS_AS_SPACE.sub(r"\1+\2", text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidQuery(f"{name} {text!r} is not an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise InvalidQuery(f"{name} {text!r} has no UTC offset")
    return moment


def clean_filter(name: str, value: str | None) -> str | None:
    """An id to filter by: bounded, and text PostgreSQL can compare (no NUL, no lone surrogate)."""
    if value is None:
        return None
    if len(value) > MAX_ID_LENGTH or not storable(value):
        raise InvalidQuery(f"{name} is not a valid id")
    return value


#: The longest escalation deadline a syndicate may have (30 days, in seconds).
MAX_ESCALATE_AFTER = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Escalation:
    """What an open alert whose deadline passed does now: ``level`` is notified (None: nobody, the
    escalation ends), and the next deadline, if a level above that one remains."""

    level: int | None
    next_deadline: datetime | None


def escalate(
    current: int, levels: Iterable[int], deadline: datetime, after_seconds: int
) -> Escalation:
    """Up to the next level that has managers; each deadline counts from the one before, so a
    worker that was down escalates to where the alert should be, one level a tick, never twice."""
    above = sorted({level for level in levels if level > current})
    if after_seconds <= 0 or not above:
        return Escalation(None, None)
    later = len(above) > 1
    return Escalation(above[0], deadline + timedelta(seconds=after_seconds) if later else None)

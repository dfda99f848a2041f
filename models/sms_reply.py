"""What a fund manager can text back, and what they are told. Pure.

Understood: ``ACK <code>`` (the first 8 characters of an alert's id, as every alert SMS names it),
``STOP`` (pause SMS to this number; emails go on) and ``START`` (resume). Carriers' usual opt-out and
opt-in words count as STOP and START. Anything else gets a short line saying what is understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ACK = re.compile(r"ACK\s+([0-9A-F]{8})", re.IGNORECASE)
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP = "Pulse understands: ACK <code> to acknowledge an alert, STOP to pause SMS, START to resume."
MAX_BODY = 1600  # Twilio's longest message


@dataclass(frozen=True, slots=True)
class Ack:
    code: str  # lower case, as alert ids are written


@dataclass(frozen=True, slots=True)
class Stop:
    pass


@dataclass(frozen=True, slots=True)
class Start:
    pass


@dataclass(frozen=True, slots=True)
class Unknown:
    pass


Reply = Ack | Stop | Start | Unknown


def parse_reply(body: str | None) -> Reply:
    text = " ".join((body or "")[:MAX_BODY].split())
    if found := _ACK.fullmatch(text):
        return Ack(found.group(1).lower())
    word = text.upper()
    if word in STOP_WORDS:
        return Stop()
    if word in START_WORDS:
        return Start()
    return Unknown()


def code_range(code: str) -> tuple[str, str]:
    """The lowest and highest alert ids that start with ``code``: an index range, not a scan."""
    return f"{code}-0000-0000-0000-000000000000", f"{code}-ffff-ffff-ffff-ffffffffffff"


PAUSED = "SMS from Pulse are paused for this number; emails continue. Reply START to resume."
RESUMED = "SMS from Pulse resume for this number."
NOT_FOUND = "No alert {code} for this number. " + HELP
AMBIGUOUS = "More than one alert starts with {code}; acknowledge it by email or in the console."

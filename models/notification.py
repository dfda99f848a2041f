"""What fund managers receive, and when: message text, retry schedule, storm control. Pure."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

_NOTIFICATION_NS = uuid.UUID("0c0f5e5a-8a3e-4f43-9d8a-6f1c2b7e9d31")
E164 = re.compile(r"\+[1-9]\d{6,14}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
SMS_LIMIT = 306  # two GSM-7 segments of 153 characters
MULTIPLICATION_SIGN = "\u00d7"  # fine in email; SMS says "x" to stay in GSM-7


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    LOG = "log"


class ContactError(ValueError):
    """A phone number, email address or channel list that cannot be used."""


def validate_phone(phone: str) -> str:
    if not E164.fullmatch(phone):
        raise ContactError(f"phone {phone!r} is not in E.164 form (e.g. +14155550123)")
    return phone


def validate_email(email: str) -> str:
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise ContactError(f"email {email!r} is not a valid address")
    return email


def parse_channels(text: str) -> list[Channel]:
    try:
        channels = [Channel(c.strip()) for c in text.split(",") if c.strip()]
    except ValueError:
        raise ContactError(f"channels {text!r}: choose from sms, email") from None
    if not channels:
        raise ContactError("at least one channel is needed")
    return sorted(set(channels))


def notification_id(alert_id: str, manager_id: str, channel: Channel) -> uuid.UUID:
    return uuid.uuid5(_NOTIFICATION_NS, f"{alert_id}/{manager_id}/{channel}")


def mask(identifier: str | None) -> str:
    """Keep only the last two characters: enough to tell records apart, not to identify a person."""
    if not identifier:
        return "-"
    return "*" * max(3, len(identifier) - 2) + identifier[-2:]


def _amount(text: str) -> str:
    return f"{Decimal(text):,.2f}"


def _moment(text: str | None) -> str:
    if not text:
        return "-"
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _name(alert: dict[str, Any]) -> str:
    name = alert.get("syndicate_name") or alert["syndicate_id"]
    return name if len(name) <= 40 else name[:37] + "..."


# GSM 03.38 basic character set: anything else switches the SMS to UCS-2 (70 characters a segment).
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def _gsm7(text: str) -> str:
    return "".join(c if c in _GSM7 else "?" for c in text)


def describe(alert: dict[str, Any], times: str = "x") -> str:
    """Observed vs expected, in words."""
    details = alert.get("details") or {}
    if alert["kind"] == "spike" and "window_seconds" in details:
        return _evidence(alert, details, times)
    if alert["kind"] == "spike":  # alerts raised before the rule weighed evidence
        ratio = alert.get("ratio")
        baseline = details.get("baseline_per_5min", "0")
        how_much = (
            f"{Decimal(ratio):.1f}{times} the hourly average"
            if ratio
            else "with no activity in the last hour"
        )
        return (
            f"{alert['observed']} transactions in 5 min, {how_much} of {Decimal(baseline):.1f} per 5 min"
            + (" (escalation)" if details.get("escalation") else "")
        )
    currency = details.get("currency", "USD")
    return (
        f"transaction of {_amount(alert['observed'])} {currency} at {_moment(alert.get('event_time'))}, "
        f"above the threshold of {_amount(alert['expected'])}"
    )


def _evidence(alert: dict[str, Any], details: dict[str, Any], times: str) -> str:
    """ "42 transactions in 2 min, 13.5x the usual 3.1 per 2 min (last hour); 1 in 10 million by
    chance" """
    minutes = int(details["window_seconds"]) // 60
    span = f"{minutes} min"
    ratio = alert.get("ratio")
    usual = Decimal(str(details.get("usual", "0")))
    # Alerts stored before "known_by" say it through "prior" alone.
    known_by = details.get("known_by") or (
        "little history yet" if details.get("prior") else "last hour"
    )
    if details.get("usual_at_this_hour") is not None and known_by != "this hour on previous days":
        known_by += f"; {Decimal(str(details['usual_at_this_hour'])):.1f} at this hour"
    how_much = f"{Decimal(ratio):.1f}{times} the usual" if ratio else "against a usual"
    return (
        f"{alert['observed']} transactions in {span}, {how_much} {usual:.1f} per {span} "
        f"({known_by}); {details.get('chance', 'unlikely by chance')}"
        + (" (escalation)" if details.get("escalation") else "")
    )


def escalation_note(alert: dict[str, Any]) -> str | None:
    """ "Escalated to level 2: open since …" for an alert that escalates; None for a first notice."""
    escalation = alert.get("escalation")
    if not isinstance(escalation, dict):
        return None
    return (
        f"Escalated to level {escalation.get('level')}: "
        f"open since {_moment(escalation.get('open_since'))}"
    )


def render_sms(alert: dict[str, Any]) -> str:
    """GSM-7 only (a single non-GSM character would cut a segment to 70), at most two segments."""
    kind = "Spike" if alert["kind"] == "spike" else "Large transaction"
    investor = (alert.get("details") or {}).get("investor_id")
    who = f", investor {mask(investor)}" if investor else ""
    escalated = escalation_note(alert)
    head = "Pulse:" if escalated is None else f"Pulse {escalated}."
    code = str(alert["alert_id"])[:8]
    # The way to acknowledge always fits: the description gives way first.
    tail = _gsm7(f". Alert {code}. Reply ACK {code} to acknowledge.")
    text = _gsm7(f"{head} {kind} in {_name(alert)}: {describe(alert)}{who}")
    return text[: SMS_LIMIT - len(tail)] + tail


def _sentence(text: str) -> str:
    # Not str.capitalize(): it lowercases the rest ("USD", "UTC", fund names).
    return text[:1].upper() + text[1:] + "."


def render_email(alert: dict[str, Any], ack_url: str | None = None) -> tuple[str, str]:
    """(subject, body); ``ack_url``: the one-click acknowledge link for this recipient."""
    kind = "Spike" if alert["kind"] == "spike" else "Large transaction"
    details = alert.get("details") or {}
    subject = f"[Pulse] {kind} in {_name(alert)}"
    lines = [
        f"{kind} in syndicate {_name(alert)} ({alert['syndicate_id']}).",
        "",
    ]
    escalated = escalation_note(alert)
    if escalated is not None:
        subject = f"[Pulse] Escalation: {kind} in {_name(alert)}"
        lines = [f"{escalated}; nobody has acknowledged it yet.", "", *lines]
    lines += [
        _sentence(describe(alert, times=MULTIPLICATION_SIGN)),
        "",
        f"Event time: {_moment(alert.get('event_time'))}",
    ]
    if alert.get("transaction_id"):
        lines.append(f"Transaction: {alert['transaction_id']}")
    if details.get("investor_id"):
        lines.append(f"Investor: {mask(details['investor_id'])}")
    if alert.get("window_start"):
        lines.append(
            f"Window: {_moment(alert['window_start'])} to {_moment(alert.get('window_end'))}"
        )
    lines += ["", f"Alert id: {alert['alert_id']}"]
    if ack_url:
        lines += ["", f"Acknowledge it (one click, this alert only): {ack_url}"]
    return subject, "\n".join(lines)


def render_digest(channel: Channel, alerts: list[dict[str, Any]]) -> tuple[str, str]:
    """One message for the alerts held back in a storm window: (subject, body)."""
    spikes = sum(1 for a in alerts if a["kind"] == "spike")
    large = len(alerts) - spikes
    names = sorted({_name(a) for a in alerts})
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    summary = f"{len(alerts)} more alerts ({spikes} spikes, {large} large transactions) in {shown}"
    if channel is Channel.SMS:
        return "", _gsm7(f"Pulse digest: {summary}. See pulse alerts list.")[:SMS_LIMIT]
    body = [summary + ":", ""] + [
        f"- {describe(a, times=MULTIPLICATION_SIGN)} [{a['alert_id']}]" for a in alerts
    ]
    return f"[Pulse] Digest: {len(alerts)} alerts", "\n".join(body)


@dataclass(frozen=True)
class RetryPolicy:
    """Delays before attempts 2, 3, …; exhausted after the last one."""

    delays: tuple[float, ...] = (30.0, 120.0, 600.0, 3600.0)

    def next_delay(self, attempts_made: int, jitter: float) -> float | None:
        """``jitter`` in [0, 1): spreads retries over ±20% so recovering providers are not stampeded."""
        if attempts_made > len(self.delays):
            return None
        base = self.delays[attempts_made - 1]
        return base * (0.8 + 0.4 * jitter)


STORM_WINDOW = timedelta(minutes=10)


def storm_window(moment: datetime) -> datetime:
    """The fixed 10-minute window ``moment`` falls in."""
    return moment - timedelta(
        minutes=moment.minute % 10, seconds=moment.second, microseconds=moment.microsecond
    )

"""Replies by SMS (Twilio's inbound-message webhook): acknowledge an alert from the phone, pause or
resume SMS to that number.

The request is trusted only with a valid ``X-Twilio-Signature`` for ``PULSE_TWILIO_AUTH_TOKEN`` and
the URL Twilio was given (``PULSE_PUBLIC_URL`` + the path); anything else is refused before it is
read further. The sender is a fund manager when their (encrypted) phone is the ``From`` number, and
an ``ACK <code>`` acknowledges only an alert of a syndicate that manager runs. Each ``MessageSid`` is
handled once; a retry of the same message gets the same answer and changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from uuid import UUID

import psycopg
from twilio.request_validator import RequestValidator

from models.alert_status import Action, Via
from models.batch import printable
from models.notification import mask
from models.sms_reply import (
    AMBIGUOUS,
    HELP,
    NOT_FOUND,
    PAUSED,
    RESUMED,
    Ack,
    Start,
    Stop,
    code_range,
    parse_reply,
)
from pipeline.alerts.lifecycle import act
from pipeline.platform.db import LazyPool
from pipeline.platform.queries import row, rows, run
from pipeline.security import pii

log = logging.getLogger(__name__)
_SID = re.compile(r"[A-Za-z0-9]{2,64}")


class SmsReplies:
    def __init__(self, database: LazyPool, auth_token: str | None, public_url: str) -> None:
        self._database = database
        self._validator = None if not auth_token else RequestValidator(auth_token)
        self._public_url = public_url.rstrip("/")

    def signed(self, path_qs: str, params: Mapping[str, str], signature: str | None) -> bool:
        """Signed by Twilio for this URL and these parameters (never when no token is set)."""
        if self._validator is None or not signature:
            return False
        try:
            return bool(self._validator.validate(self._public_url + path_qs, params, signature))
        except Exception:  # a malformed signature is simply not a valid one
            return False

    async def answer(self, params: Mapping[str, str]) -> str:
        """The reply text for one inbound message, acting on it the first time it is seen."""
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        sender = params.get("From") or ""
        command = parse_reply(params.get("Body"))
        if not _SID.fullmatch(sid):
            return HELP  # not a message Twilio names: nothing to remember it by
        pool = await self._database.get()
        async with pool.connection() as conn, conn.transaction():
            first = await row(
                conn,
                "notify/inbound_sms_seen",
                message_sid=sid,
                from_masked=printable(mask(sender), 64),
                command=type(command).__name__.lower(),
            )
            if first is None:
                seen = await row(conn, "notify/inbound_sms_reply", message_sid=sid)
                return (seen or {}).get("reply") or HELP
            reply = await self._act(conn, sender, command)
            await run(conn, "notify/set_inbound_sms_reply", message_sid=sid, reply=reply)
        return reply

    async def _act(self, conn: psycopg.AsyncConnection, sender: str, command: object) -> str:
        managers = await self._managers_with_phone(conn, sender)
        match command:
            case Ack(code):
                return await self._acknowledge(conn, code, managers)
            case Stop() if managers:
                await run(conn, "notify/pause_sms", manager_ids=managers)
                return PAUSED
            case Start() if managers:
                await run(conn, "notify/resume_sms", manager_ids=managers)
                return RESUMED
        return HELP

    async def _acknowledge(
        self, conn: psycopg.AsyncConnection, code: str, managers: list[UUID]
    ) -> str:
        if not managers:
            return NOT_FOUND.format(code=code)
        lowest, highest = code_range(code)
        found = await rows(
            conn, "alerts/alerts_by_code", lowest=lowest, highest=highest, manager_ids=managers
        )
        alerts = {r["alert_id"]: r["manager_id"] for r in reversed(found)}  # lowest level wins
        if not alerts:
            return NOT_FOUND.format(code=code)
        if len(alerts) > 1:
            return AMBIGUOUS.format(code=code)
        ((alert_id, manager_id),) = alerts.items()
        decision, _ = await act(
            conn,
            str(alert_id),
            Action.ACKNOWLEDGE,
            actor=str(manager_id),
            via=Via.SMS,
            manager_id=str(manager_id),
        )
        if decision.changes:
            return f"Alert {code} acknowledged. Thank you."
        return f"Alert {code} is already {decision.before.value}."

    async def _managers_with_phone(self, conn: psycopg.AsyncConnection, phone: str) -> list[UUID]:
        """Managers whose phone is this number. Phones are encrypted with a random nonce, so each
        is decrypted and compared; fine for the hundreds of managers a deployment has."""
        if not phone:
            return []
        cipher = pii.default()
        found = []
        for r in await rows(conn, "notify/manager_phones"):
            try:
                if cipher.reveal(r["phone"]) == phone:
                    found.append(r["manager_id"])
            except pii.UndecryptablePii:
                log.warning("manager %s: phone cannot be decrypted", r["manager_id"])
        return found

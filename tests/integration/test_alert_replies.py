"""Acknowledging from the phone and from the email, from the outside: real alerts, SMS through the
real twilio client to the stand-in, emails through boto3 to moto's SES, replies through Twilio's
webhook signed as Twilio signs it, and the email's own link."""

from __future__ import annotations

import re
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import orjson
import pytest
from twilio.request_validator import RequestValidator

from pipeline.devtools.standins import (
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    TwilioStandIn,
    ses_messages,
)
from pipeline.platform import db
from tests.harness import Api, Stack, Worker, api_ready, issue_token, transaction, wait_until

pytestmark = pytest.mark.integration
T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
PUBLIC = "https://pulse.example.test"
WEBHOOK = "/webhooks/twilio/sms"
DEE, ELI = "+15550000031", "+15550000032"


def post_form(
    worker: Worker, path: str, form: dict[str, str], headers: dict[str, str] | None = None
) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{worker.port}{path}",
        data=urlencode(form).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def get_page(worker: Worker, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}{path}", timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def signed(form: dict[str, str], url: str = PUBLIC + WEBHOOK, token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def sms_from(phone: str, body: str, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": phone,
        "To": TWILIO_FROM,
        "Body": body,
        "NumMedia": "0",
    }


def reply_to(worker: Worker, form: dict[str, str]) -> tuple[int, str]:
    return post_form(worker, WEBHOOK, form, {"X-Twilio-Signature": signed(form)})


def alert_state(url: str, transaction_id: str) -> dict:
    with db.connect(url) as conn:
        row = conn.execute(
            "SELECT a.alert_id::text, a.status, a.acknowledged_by,"
            " (SELECT array_agg(via ORDER BY at) FROM alert_transitions t"
            "  WHERE t.alert_id = a.alert_id) FROM alerts a WHERE transaction_id = %s",
            (transaction_id,),
        ).fetchone()
    assert row is not None, transaction_id
    return {"alert_id": row[0], "status": row[1], "by": row[2], "via": row[3] or []}


def sms_statuses(url: str, manager_id: str) -> list[str]:
    with db.connect(url) as conn:
        rows = conn.execute(
            "SELECT status FROM notifications WHERE manager_id = %s AND channel = 'sms'"
            " ORDER BY created_at",
            (manager_id,),
        ).fetchall()
    return [r[0] for r in rows]


def test_alerts_are_acknowledged_by_sms_reply_and_by_email_link(
    stack: Stack, twilio: TwilioStandIn, aws_env: dict[str, str], workers: list[Worker]
) -> None:
    dee = stack.pulse(
        "managers", "add", "--name", "Dee", "--phone", DEE, "--email", "dee@fund.example"
    ).stdout.strip()
    eli = stack.pulse(
        "managers", "add", "--name", "Eli", "--phone", ELI, "--email", "eli@fund.example"
    ).stdout.strip()
    stack.pulse("managers", "assign", dee, "syn-r")
    stack.pulse("managers", "assign", eli, "syn-s")
    before_email = len(ses_messages())
    worker = Worker(
        stack,
        PULSE_TWILIO_ACCOUNT_SID=TWILIO_SID,
        PULSE_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        PULSE_TWILIO_FROM=TWILIO_FROM,
        PULSE_TWILIO_API_URL=twilio.url,
        PULSE_EMAIL_FROM="alerts@pulse.example",
        PULSE_PUBLIC_URL=PUBLIC,
        **aws_env,
    ).start()
    workers.append(worker)

    def produce(*items: tuple[str, str, int]) -> None:
        stack.produce(
            orjson.dumps(transaction(tid, syn, T0 + timedelta(minutes=minute), "40000.00"))
            for tid, syn, minute in items
        )

    produce(("r-1", "syn-r", 0), ("r-2", "syn-r", 1), ("s-1", "syn-s", 2))
    wait_until(
        lambda: (
            len(twilio.bodies_to(DEE)) == 2
            and len(twilio.bodies_to(ELI)) == 1
            and len(ses_messages()) - before_email == 3
        ),
        90,
        "three SMS and three emails",
    )
    r1, r2, _s1 = (alert_state(stack.database_url, t) for t in ("r-1", "r-2", "s-1"))
    code = r1["alert_id"][:8]
    (body,) = [b for b in twilio.bodies_to(DEE) if f"Alert {code}" in b]
    assert body.endswith(f"Alert {code}. Reply ACK {code} to acknowledge.")

    # Acknowledged from the phone, as that manager; Twilio's retry of the same message changes nothing.
    first = sms_from(DEE, f" ack  {code.upper()} ")
    status, twiml = reply_to(worker, first)
    assert status == 200
    assert twiml.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert f"Alert {code} acknowledged" in twiml
    assert alert_state(stack.database_url, "r-1") == {
        **r1,
        "status": "acknowledged",
        "by": dee,
        "via": ["sms"],
    }
    assert reply_to(worker, first) == (200, twiml)
    assert alert_state(stack.database_url, "r-1")["via"] == ["sms"]
    status, again = reply_to(worker, sms_from(DEE, f"ACK {code}"))
    assert "already acknowledged" in again

    # Forged, altered or unsigned webhooks: 403 and nothing changes.
    code2 = r2["alert_id"][:8]
    forged = sms_from(DEE, f"ACK {code2}")
    assert post_form(worker, WEBHOOK, forged)[0] == 403
    assert (
        post_form(worker, WEBHOOK, forged, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})[0] == 403
    )
    other_url = f"http://127.0.0.1:{worker.port}{WEBHOOK}"
    assert (
        post_form(worker, WEBHOOK, forged, {"X-Twilio-Signature": signed(forged, other_url)})[0]
        == 403
    )
    assert (
        post_form(worker, WEBHOOK, forged, {"X-Twilio-Signature": signed(forged, token="x" * 32)})[
            0
        ]
        == 403
    )
    altered = {**first, "Body": f"ACK {code2}", "MessageSid": "SM" + uuid.uuid4().hex}
    assert post_form(worker, WEBHOOK, altered, {"X-Twilio-Signature": signed(first)})[0] == 403
    assert alert_state(stack.database_url, "r-2")["status"] == "open"

    # Another manager's alert, a stranger, and words it does not know: a short answer, no change.
    assert f"No alert {code2} for this number" in reply_to(worker, sms_from(ELI, f"ACK {code2}"))[1]
    assert f"No alert {code2}" in reply_to(worker, sms_from("+15550009999", f"ACK {code2}"))[1]
    for words in ("hello", "ACK", "ACK 123", "ACK zzzzzzzz", "\u0000ACK", "x" * 5000):
        status, help_text = reply_to(worker, sms_from(DEE, words))
        assert status == 200
        assert "ACK &lt;code&gt;" in help_text
    # Signed but hostile values: text PostgreSQL cannot store, a MessageSid that names nothing.
    for hostile in (sms_from("+1\x00\u2028", "STOP"), sms_from(DEE, "STOP", sid="SM/../\x00")):
        status, text = reply_to(worker, hostile)
        assert status == 200
        assert "ACK &lt;code&gt;" in text
    assert alert_state(stack.database_url, "r-2")["status"] == "open"
    assert alert_state(stack.database_url, "s-1")["status"] == "open"

    # The email link: a page, then one click; a tampered link or a bearer-token use of it fails.
    emails = [m for m in ses_messages()[before_email:] if r2["alert_id"] in m.body]
    (email,) = [m for m in emails if m.destinations["ToAddresses"] == ["dee@fund.example"]]
    link = re.search(r"one click, this alert only\): (\S+)", email.body).group(1)
    assert link.startswith(f"{PUBLIC}/alerts/ack?token=")
    token = link.split("token=", 1)[1]
    status, page = get_page(worker, f"/alerts/ack?token={token}")
    assert status == 200
    assert r2["alert_id"] in page
    assert "<button type=submit>Acknowledge</button>" in page
    assert alert_state(stack.database_url, "r-2")["status"] == "open"  # looking is not acting
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert get_page(worker, f"/alerts/ack?token={tampered}")[0] == 403
    assert post_form(worker, "/alerts/ack", {"token": tampered})[0] == 403
    assert get_page(worker, "/alerts/ack")[0] == 400
    assert Api(worker.port, token).get("/alerts")[0] == 401
    status, done = post_form(worker, "/alerts/ack", {"token": token})
    assert status == 200
    assert "Acknowledged" in done
    assert alert_state(stack.database_url, "r-2") == {
        **r2,
        "status": "acknowledged",
        "by": dee,
        "via": ["email"],
    }
    assert "Already acknowledged" in post_form(worker, "/alerts/ack", {"token": token})[1]
    # The token may come as the query of the POST, as the link itself carries it.
    assert "Already acknowledged" in post_form(worker, f"/alerts/ack?token={token}", {})[1]

    # STOP pauses SMS to that number (emails go on); START resumes them.
    assert "paused" in reply_to(worker, sms_from(DEE, "STOP"))[1]
    produce(("r-3", "syn-r", 3))
    wait_until(lambda: len(ses_messages()) - before_email == 4, 60, "the email of r-3")
    wait_until(lambda: "stopped" in sms_statuses(stack.database_url, dee), 30, "r-3's SMS stopped")
    assert len(twilio.bodies_to(DEE)) == 2
    assert "resume" in reply_to(worker, sms_from(DEE, "start"))[1]
    produce(("r-4", "syn-r", 4))
    wait_until(lambda: len(twilio.bodies_to(DEE)) == 3, 60, "r-4's SMS, after START")
    assert sms_statuses(stack.database_url, dee) == ["sent", "sent", "stopped", "sent"]

    # The same answers through the API a manager uses.
    manager = api_ready(worker, issue_token(stack, "dee", "fund_manager", manager_id=dee))
    seen = {a["transaction_id"]: a for a in manager.get("/alerts")[1]}
    assert seen["r-1"]["status"] == "acknowledged"
    assert [t["via"] for t in manager.get(f"/alerts/{r2['alert_id']}")[1]["transitions"]] == [
        "email"
    ]
    assert "s-1" not in seen

"""Alert delivery over the real twilio and boto3 clients, against local servers that speak their APIs."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from config import Settings
from pipeline.devtools.standins import (
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    TwilioStandIn,
    ses_messages,
)
from pipeline.notify import outbox
from pipeline.notify.managers import add_manager, assign, reveal
from pipeline.notify.sender import Notifier
from pipeline.platform import db
from tests.harness import Stack, Worker, wait_until

pytestmark = pytest.mark.integration
SENDER = "alerts@pulse.example"


def settings_for(stack: Stack, twilio: TwilioStandIn | None = None, **extra: object) -> Settings:
    values: dict[str, object] = {
        "kafka_url": stack.kafka_url,
        "database_url": stack.database_url,
        "data_dir": stack.data_dir,
        "notify_retry_delays": "0.05,0.05,0.05",
        "email_from": SENDER,
    }
    if twilio is not None:
        values |= {
            "twilio_account_sid": TWILIO_SID,
            "twilio_auth_token": TWILIO_TOKEN,
            "twilio_from": TWILIO_FROM,
            "twilio_api_url": twilio.url,
        }
    return Settings(**(values | extra))


def alert(syndicate: str, kind: str = "large_transaction", n: int = 0) -> dict:
    return {
        "alert_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{syndicate}/{kind}/{n}")),
        "kind": kind,
        "syndicate_id": syndicate,
        "syndicate_name": f"Fund {syndicate}",
        "transaction_id": f"tx-{n}",
        "observed": "25000.00",
        "expected": "10000.00",
        "ratio": "2.5000",
        "event_time": "2026-03-01T10:15:00+00:00",
        "details": {"investor_id": "inv-004512", "currency": "USD"},
    }


def enqueue(stack: Stack, alerts: list[dict]) -> int:
    async def run() -> int:
        async with await db.connect_async(stack.database_url, autocommit=True) as conn:
            return await outbox.enqueue(conn, alerts)

    return asyncio.run(run())


def drain(notifier: Notifier, until: object, timeout: float = 15.0) -> None:
    async def run() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await notifier.tick()
            if until():  # type: ignore[operator]
                break
            await asyncio.sleep(0.05)
        await notifier.close()

    asyncio.run(run())


def statuses(stack: Stack) -> dict[str, tuple[str, int, str | None]]:
    with db.connect(stack.database_url) as conn:
        rows = conn.execute(
            "SELECT m.phone, n.status, n.attempts, n.last_error FROM notifications n"
            " JOIN fund_managers m USING (manager_id) WHERE n.channel = 'sms'"
        ).fetchall()
    return {reveal(r[0]): (r[1], r[2], r[3]) for r in rows}


def test_sms_retries_timeouts_429_and_5xx_and_fails_fast_on_a_permanent_error(
    stack: Stack, twilio: TwilioStandIn
):
    phones = {
        "ok": "+15550000001",
        "5xx": "+15550000002",
        "429": "+15550000003",
        "400": "+15550000004",
    }
    twilio.script = {phones["5xx"]: [500], phones["429"]: [429], phones["400"]: [400]}
    for name, phone in phones.items():
        manager = add_manager(stack.database_url, f"Manager {name}", phone, None, "sms")
        assign(stack.database_url, str(manager), f"syn-{name}")
    assert enqueue(stack, [alert(f"syn-{name}") for name in phones]) == 8  # sms + log for each
    notifier = Notifier(settings_for(stack, twilio))
    drain(notifier, lambda: all(s[0] in ("sent", "failed") for s in statuses(stack).values()))

    got = statuses(stack)
    assert got[phones["ok"]][:2] == ("sent", 1)
    assert got[phones["5xx"]][:2] == ("sent", 2)
    assert got[phones["429"]][:2] == ("sent", 2)
    assert got[phones["400"]][0] == "failed"
    assert got[phones["400"]][1] == 1  # permanent: no retry
    assert "400" in (got[phones["400"]][2] or "")
    assert sorted(twilio.requests) == sorted([*phones.values(), phones["5xx"], phones["429"]])
    assert all(m.sender == TWILIO_FROM for m in twilio.delivered)
    assert "Large transaction in Fund syn-ok" in twilio.bodies_to(phones["ok"])[0]

    dlq = stack.read_topic("notifications-dlq", 1)
    assert len(dlq) == 1
    record = json.loads(dlq[0].value)
    assert record["channel"] == "sms"
    assert "400" in record["reason"]
    listed = json.loads(stack.pulse("notifications", "list", "--status", "failed", "--json").stdout)
    assert [n["channel"] for n in listed] == ["sms"]


def test_email_goes_through_ses_and_a_rejected_sender_fails_at_once(stack: Stack, aws_env):
    manager = add_manager(stack.database_url, "Ann", None, "ann@fund.example", "email")
    assign(stack.database_url, str(manager), "syn-e")
    before = len(ses_messages())
    enqueue(stack, [alert("syn-e")])
    drain(Notifier(settings_for(stack)), lambda: len(ses_messages()) > before)
    (message,) = ses_messages()[before:]
    assert message.source == SENDER
    assert message.destinations["ToAddresses"] == ["ann@fund.example"]
    assert message.subject == "[Pulse] Large transaction in Fund syn-e"
    assert "25,000.00 USD" in message.body

    enqueue(stack, [alert("syn-e", n=1)])
    drain(
        Notifier(settings_for(stack, email_from="nobody@unverified.example")),
        lambda: statuses_by_channel(stack, "email").count("failed") == 1,
    )
    with db.connect(stack.database_url) as conn:
        error = conn.execute(
            "SELECT last_error FROM notifications WHERE status = 'failed'"
        ).fetchone()
    assert error is not None
    assert "MessageRejected" in error[0]
    assert len(ses_messages()) == before + 1


def statuses_by_channel(stack: Stack, channel: str) -> list[str]:
    with db.connect(stack.database_url) as conn:
        return [
            r[0]
            for r in conn.execute("SELECT status FROM notifications WHERE channel = %s", (channel,))
        ]


def test_storm_control_folds_the_excess_into_one_digest(stack: Stack, twilio: TwilioStandIn):
    manager = add_manager(stack.database_url, "Bo", "+15550000009", None, "sms")
    assign(stack.database_url, str(manager), "syn-storm")
    enqueue(stack, [alert("syn-storm", n=i) for i in range(8)])
    notifier = Notifier(settings_for(stack, twilio, storm_max_per_window=5))
    drain(
        notifier, lambda: sorted(statuses_by_channel(stack, "sms")) == ["held"] * 3 + ["sent"] * 5
    )
    assert len(twilio.bodies_to("+15550000009")) == 5
    assert (
        statuses_by_channel(stack, "log").count("sent") == 8
    )  # the log channel has no storm limit

    # The window closes (moved back in time rather than waiting ten minutes): one digest goes out.
    with db.connect(stack.database_url) as conn:
        conn.execute(
            "UPDATE notifications SET storm_window = storm_window - interval '20 minutes' WHERE status = 'held'"
        )
    drain(
        Notifier(settings_for(stack, twilio, storm_max_per_window=5)),
        lambda: "held" not in statuses_by_channel(stack, "sms"),
    )
    bodies = twilio.bodies_to("+15550000009")
    assert len(bodies) == 6
    assert bodies[-1].startswith(
        "Pulse digest: 3 more alerts (0 spikes, 3 large transactions) in Fund syn-storm"
    )
    assert sorted(statuses_by_channel(stack, "sms")) == ["digested"] * 3 + ["sent"] * 5


def test_a_notifier_killed_mid_batch_loses_nothing(
    stack: Stack, twilio: TwilioStandIn, workers: list[Worker]
):
    twilio.delay = 0.1
    manager = add_manager(stack.database_url, "Cy", "+15550000010", None, "sms")
    assign(stack.database_url, str(manager), "syn-k")
    alerts = [alert("syn-k", n=i) for i in range(30)]
    enqueue(stack, alerts)
    env = {
        "PULSE_TWILIO_ACCOUNT_SID": TWILIO_SID,
        "PULSE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "PULSE_TWILIO_FROM": TWILIO_FROM,
        "PULSE_TWILIO_API_URL": twilio.url,
        "PULSE_STORM_MAX_PER_WINDOW": "1000",
        "PULSE_NOTIFIER_LEASE_SECONDS": "5",
    }
    first = NotifierProcess(stack, "first", env).start()
    workers.append(first)
    wait_until(lambda: len(twilio.delivered) >= 10, 30, "ten SMS")
    first.kill()
    second = NotifierProcess(stack, "second", env).start()
    workers.append(second)
    wait_until(lambda: statuses_by_channel(stack, "sms").count("sent") == 30, 60, "all 30 SMS sent")

    received = [
        re.search(r"Alert ([0-9a-f]{8})\.", b).group(1) for b in twilio.bodies_to("+15550000010")
    ]
    assert {a["alert_id"][:8] for a in alerts} == set(received)  # nothing lost
    assert len(received) - len(set(received)) <= 1  # at most the one in flight when it died


class NotifierProcess(Worker):
    def start(self) -> NotifierProcess:
        import subprocess
        import sys

        from tests.harness import REPO

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "notifier"],
            env=self.env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        return self

    def __init__(self, stack: Stack, name: str, env: dict[str, str]) -> None:
        super().__init__(stack, name, **env)


def test_end_to_end_one_sms_and_one_email_per_manager_never_twice(
    stack: Stack, twilio: TwilioStandIn, aws_env: dict[str, str], workers: list[Worker]
):
    ids = []
    for name, phone, mail in (
        ("Dee", "+15550000021", "dee@fund.example"),
        ("Eli", "+15550000022", "eli@fund.example"),
    ):
        out = stack.pulse(
            "managers", "add", "--name", name, "--phone", phone, "--email", mail
        ).stdout
        ids.append(out.strip())
        stack.pulse("managers", "assign", out.strip(), "syn-x")
    stack.pulse("syndicates", "set", "syn-x", "--name", "Growth Fund")
    managers = json.loads(stack.pulse("managers", "list", "--json").stdout)
    assert {m["id"] for m in managers} == set(ids)
    assert all(m["syndicates"] == ["syn-x"] and m["channels"] == ["email", "sms"] for m in managers)

    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    stream = [
        {
            "transaction_id": f"x-{i}",
            "investor_id": "inv-1",
            "syndicate_id": "syn-x",
            "transaction_amount": "100.00",
            "transaction_date": (t0 + timedelta(minutes=i)).isoformat(),
        }
        for i in range(70)
    ]
    burst = t0 + timedelta(minutes=70)
    stream += [
        {
            "transaction_id": f"b-{i}",
            "investor_id": "inv-2",
            "syndicate_id": "syn-x",
            "transaction_amount": "100.00",
            "transaction_date": (burst + timedelta(seconds=i)).isoformat(),
        }
        for i in range(50)
    ]
    stream.append(
        {
            "transaction_id": "big",
            "investor_id": "inv-004512",
            "syndicate_id": "syn-x",
            "transaction_amount": "50000.00",
            "transaction_date": (burst + timedelta(seconds=55)).isoformat(),
        }
    )
    before_email = len(ses_messages())
    stack.produce(orjson.dumps(r) for r in stream)
    worker = Worker(
        stack,
        PULSE_TWILIO_ACCOUNT_SID=TWILIO_SID,
        PULSE_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        PULSE_TWILIO_FROM=TWILIO_FROM,
        PULSE_TWILIO_API_URL=twilio.url,
        PULSE_EMAIL_FROM=SENDER,
        **aws_env,
    ).start()
    workers.append(worker)

    def delivered() -> bool:
        worker.assert_alive()
        return len(twilio.delivered) >= 4 and len(ses_messages()) - before_email >= 4

    wait_until(delivered, 90, "two SMS and two emails per manager")
    alerts = json.loads(stack.pulse("alerts", "list", "--json").stdout)
    assert sorted(a["kind"] for a in alerts) == ["large_transaction", "spike"]
    for phone in ("+15550000021", "+15550000022"):
        bodies = sorted(twilio.bodies_to(phone))
        assert len(bodies) == 2
        assert bodies[0].startswith(
            "Pulse: Large transaction in Growth Fund: transaction of 50,000.00 USD"
        )
        assert "investor ********12" in bodies[0]
        assert bodies[1].startswith("Pulse: Spike in Growth Fund: ")
        # The evidence in words: the window that fired, the usual count, the odds.
        assert re.search(r": \d+ transactions in [1-5] min, .* the usual .* by chance\.", bodies[1])
    emails = ses_messages()[before_email:]
    assert (
        sorted(tuple(m.destinations["ToAddresses"]) for m in emails)
        == [("dee@fund.example",)] * 2 + [("eli@fund.example",)] * 2
    )

    # The alerts are delivered again on the topic: nothing is sent twice. A sentinel alert for
    # another syndicate follows them on the same partition; once it is routed, they were too.
    sentinel_manager = stack.pulse(
        "managers", "add", "--name", "Sam", "--email", "sam@fund.example", "--channels", "email"
    ).stdout.strip()
    stack.pulse("managers", "assign", sentinel_manager, "syn-sentinel")
    published = stack.read_topic("alerts", 2)
    assert len(published) == 2
    sentinel = {**json.loads(published[0].value), "syndicate_id": "syn-sentinel"}
    sentinel["alert_id"] = str(uuid.uuid4())
    stack.produce_raw(
        "alerts",
        [(r.key, r.value, r.partition) for r in published]
        + [(published[0].key, orjson.dumps(sentinel), published[0].partition)],
    )

    def routed(alert_id: str) -> int:
        with db.connect(stack.database_url) as conn:
            return conn.execute(
                "SELECT count(*) FROM notifications WHERE alert_id = %s", (alert_id,)
            ).fetchone()[0]

    wait_until(lambda: routed(sentinel["alert_id"]) == 2, 30, "the sentinel alert routed")
    assert [routed(json.loads(r.value)["alert_id"]) for r in published] == [6, 6]
    wait_until(lambda: len(ses_messages()) - before_email == 5, 30, "the sentinel's email")
    assert len(twilio.delivered) == 4
    emails = ses_messages()[before_email:]
    assert sorted(m.destinations["ToAddresses"][0] for m in emails) == [
        "dee@fund.example",
        "dee@fund.example",
        "eli@fund.example",
        "eli@fund.example",
        "sam@fund.example",
    ]

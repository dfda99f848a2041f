"""Several senders at once, provider errors and bad rows: each notification delivered exactly once, nothing personal leaked."""

from __future__ import annotations

import asyncio
import time

import pytest

from pipeline.devtools.standins import (
    TwilioStandIn,
)
from pipeline.notify.managers import add_manager, assign
from pipeline.notify.sender import Notifier
from pipeline.platform import db
from tests.harness import Stack
from tests.integration.test_notifications import (
    alert,
    drain,
    enqueue,
    settings_for,
    statuses_by_channel,
)

pytestmark = pytest.mark.integration


def run_senders(notifiers: list[Notifier], until: object, timeout: float = 90.0) -> None:
    """Several senders at once against one outbox, as several workers would run them."""

    async def one(notifier: Notifier, stop: asyncio.Event) -> None:
        while not stop.is_set():
            busy = await notifier.tick()
            if not busy:
                await asyncio.sleep(0.05)
        await notifier.close()

    async def run() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(one(n, stop)) for n in notifiers]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not until():  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*tasks)

    asyncio.run(run())


def three_senders(stack: Stack, twilio: TwilioStandIn, storm: int) -> list[Notifier]:
    """Three senders with a 5 s lease, as three workers would run them."""
    settings = settings_for(stack, twilio, notifier_lease_seconds=5, storm_max_per_window=storm)
    return [Notifier(settings) for _ in range(3)]


def test_three_slow_senders_deliver_each_message_and_digest_exactly_once(
    stack: Stack, twilio: TwilioStandIn
):
    """The provider answers in 0.3 s: far slower than lease / batch (5 s / 50). Claims are sized to
    the lease and renewed before each send, and every outcome names its claim, so no message goes
    out twice; the storm limit is counted under a lock, so three senders together send five."""
    twilio.delay = 0.3
    calm = add_manager(stack.database_url, "Calm", "+15550000031", None, "sms")
    assign(stack.database_url, str(calm), "syn-calm")
    enqueue(stack, [alert("syn-calm", n=i) for i in range(20)])
    run_senders(
        three_senders(stack, twilio, storm=1000),
        lambda: statuses_by_channel(stack, "sms").count("sent") == 20,
    )
    bodies = twilio.bodies_to("+15550000031")
    assert len(bodies) == 20
    assert len(set(bodies)) == 20

    stormy = add_manager(stack.database_url, "Storm", "+15550000032", None, "sms")
    assign(stack.database_url, str(stormy), "syn-storm3")
    enqueue(stack, [alert("syn-storm3", n=i) for i in range(12)])

    def storm_settled() -> bool:
        got = statuses_by_channel(stack, "sms")
        return got.count("held") == 7 and got.count("sent") == 25

    run_senders(three_senders(stack, twilio, storm=5), storm_settled)
    assert len(twilio.bodies_to("+15550000032")) == 5
    with db.connect(stack.database_url) as conn:
        conn.execute(
            "UPDATE notifications SET storm_window = storm_window - interval '20 minutes'"
            " WHERE status = 'held'"
        )
    run_senders(
        three_senders(stack, twilio, storm=5),
        lambda: statuses_by_channel(stack, "sms").count("digested") == 7,
    )
    stormy_bodies = twilio.bodies_to("+15550000032")
    assert len(stormy_bodies) == 6
    assert stormy_bodies[-1].startswith("Pulse digest: 7 more alerts")


def test_provider_errors_are_stored_and_dead_lettered_without_personal_data(
    stack: Stack, twilio: TwilioStandIn
):
    phone = "+15550000041"
    twilio.script = {phone: [400]}
    twilio.error_message = "The 'To' number +15550000041 is not valid; contact ops@fund.example"
    manager = add_manager(stack.database_url, "Redact", phone, None, "sms")
    assign(stack.database_url, str(manager), "syn-r")
    enqueue(stack, [alert("syn-r")])
    drain(
        Notifier(settings_for(stack, twilio)), lambda: "failed" in statuses_by_channel(stack, "sms")
    )
    with db.connect(stack.database_url) as conn:
        (error,) = conn.execute(
            "SELECT last_error FROM notifications WHERE status = 'failed'"
        ).fetchone()
    assert "+15550000041" not in error
    assert "ops@fund.example" not in error
    assert "[phone]" in error
    assert "[email]" in error
    (record,) = stack.read_topic("notifications-dlq", 1)
    assert b"+15550000041" not in record.value
    assert b"ops@fund.example" not in record.value


def test_one_bad_row_is_quarantined_and_the_others_are_delivered(
    stack: Stack, twilio: TwilioStandIn
):
    good = add_manager(stack.database_url, "Good", "+15550000051", None, "sms")
    bad = add_manager(stack.database_url, "Bad", "+15550000052", None, "sms")
    for m in (good, bad):
        assign(stack.database_url, str(m), "syn-q")
    with db.connect(stack.database_url) as conn:  # an address no key can decrypt
        conn.execute(
            "UPDATE fund_managers SET phone = 'gAAAAA-garbage' WHERE manager_id = %s", (bad,)
        )
    unrenderable = {**alert("syn-q", n=9), "kind": "spike", "ratio": "not a number"}
    enqueue(stack, [alert("syn-q", n=i) for i in range(3)] + [unrenderable])
    drain(
        Notifier(settings_for(stack, twilio)),
        lambda: (
            "sending" not in statuses_by_channel(stack, "sms")
            and "pending" not in statuses_by_channel(stack, "sms")
        ),
    )
    assert len(twilio.bodies_to("+15550000051")) == 3
    with db.connect(stack.database_url) as conn:
        failed = conn.execute(
            "SELECT count(*) FROM notifications WHERE status = 'failed' AND last_error LIKE 'internal_error%%'"
        ).fetchone()[0]
    # The bad manager's four SMS, and the unrenderable alert on the good manager's SMS and both log rows.
    assert failed == 7

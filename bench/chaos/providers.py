"""Twilio and SES failing, then recovering: every notification delivered exactly once."""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from datetime import timedelta

import orjson
import psycopg

from bench.chaos.scenario import T0, Outcome, produce_stream
from bench.common import BenchStack, bench_stack, stop_worker
from pipeline.devtools.standins import (
    EMAIL_FROM,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    FailingProxy,
    SesStandIn,
    TwilioStandIn,
)
from pipeline.notify.managers import add_manager, assign
from pipeline.platform import db


def providers_outage(alerts: int, outage_seconds: float, seed: int = 7) -> Outcome:
    """Twilio and SES answer 5xx/429 for a while, then recover: every notification delivered, none twice."""
    twilio, ses = TwilioStandIn(), SesStandIn()
    twilio.start()
    assert ses.start() is not None, "moto is needed for the SES stand-in"
    proxy = FailingProxy(ses.url or "")
    proxy.start()
    before_email = len(ses.sent())
    try:
        with bench_stack() as stack:
            _manager_of_ten_syndicates(stack)
            twilio.failing_until = proxy.failing_until = time.monotonic() + outage_seconds
            produce_stream(stack, _large_transactions(alerts, random.Random(seed)))
            worker = stack.start_worker(**_provider_env(twilio, proxy))
            # Done when no row is left that any sender could still claim: only pending, sending
            # (a lease) and held rows are ever sent, so nothing can go out twice after that.
            deadline = time.monotonic() + outage_seconds + 240
            while time.monotonic() < deadline and not _settled(stack, 2 * alerts):
                time.sleep(0.5)
            stop_worker(worker)
    finally:
        twilio.stop()
        proxy.stop()
        ses.stop()
    found = _delivery_differences(alerts, twilio, ses.sent()[before_email:])
    return Outcome(
        f"Twilio and SES failing {outage_seconds:.0f} s ({alerts} alerts, SMS + email)",
        1,
        twilio.refused + proxy.refused,
        len(found),
        "; ".join(found[:3]),
    )


def _manager_of_ten_syndicates(stack: BenchStack) -> None:
    manager = add_manager(
        stack.database_url, "Chaos", "+15550001234", "chaos@fund.example", "sms,email"
    )
    for s in range(10):
        assign(stack.database_url, str(manager), f"syn-{s:03d}")


def _large_transactions(count: int, rng: random.Random) -> list[bytes]:
    """One large-transaction alert each, spread over the ten syndicates."""
    return [
        orjson.dumps(
            {
                "transaction_id": f"big-{n}",
                "investor_id": f"inv-{n}",
                "syndicate_id": f"syn-{n % 10:03d}",
                "transaction_amount": f"{rng.randint(10_001, 99_999)}.00",
                "transaction_date": (T0 + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"),
            }
        )
        for n in range(count)
    ]


def _provider_env(twilio: TwilioStandIn, ses_proxy: FailingProxy) -> dict[str, str]:
    return {
        "PULSE_TWILIO_ACCOUNT_SID": TWILIO_SID,
        "PULSE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "PULSE_TWILIO_FROM": TWILIO_FROM,
        "PULSE_TWILIO_API_URL": twilio.url,
        "PULSE_EMAIL_FROM": EMAIL_FROM,
        "AWS_ENDPOINT_URL_SES": ses_proxy.url,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "chaos",
        "AWS_SECRET_ACCESS_KEY": "chaos",
        "PULSE_NOTIFY_RETRY_DELAYS": "5,10,20,40,80",
        "PULSE_STORM_MAX_PER_WINDOW": "1000000",
    }


def _delivery_differences(alerts: int, twilio: TwilioStandIn, emails_sent: list) -> list[str]:
    """Every alert's SMS and email delivered, none twice."""
    sms = Counter(re.search(r"Alert ([0-9a-f]{8})\.", m.body).group(1) for m in twilio.delivered)
    emails = Counter(m.body.rsplit("Alert id: ", 1)[1][:8] for m in emails_sent)
    found = []
    if len(sms) != alerts or len(emails) != alerts:
        found.append(f"delivered {len(sms)} SMS and {len(emails)} emails for {alerts} alerts")
    found += [f"SMS for {k} sent {n} times" for k, n in sms.items() if n > 1]
    found += [f"email for {k} sent {n} times" for k, n in emails.items() if n > 1]
    return found


def _settled(stack: BenchStack, rows: int) -> bool:
    with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
        done, open_ = conn.execute(
            "SELECT count(*) FILTER (WHERE status IN ('sent', 'failed', 'digested')),"
            " count(*) FILTER (WHERE status IN ('pending', 'sending', 'held', 'digesting'))"
            " FROM notifications WHERE channel IN ('sms', 'email')"
        ).fetchone()
    return done >= rows and open_ == 0

"""``pulse demo``: the whole system on the embedded stack, start to finish, in a live view.

Broker and PostgreSQL up, migrations, a worker (with the notification sender), local stand-ins for Twilio and
SES; a generated stream with planted spikes, large transactions, redeliveries and malformed messages; a pool
funded and distributing over the HTTP API; then a summary, and everything it started is stopped.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
from rich.console import Console
from rich.live import Live

from config import Settings
from models.access import Principal
from pipeline.alerts.syndicates import SyndicateUpdate, set_syndicate
from pipeline.devtools.demo_view import SPIKED, View
from pipeline.devtools.environment import pulse_environment
from pipeline.devtools.generate import GeneratorSpec, generate
from pipeline.devtools.local_stack import LocalStack, StackInfo, free_port
from pipeline.devtools.standins import (
    EMAIL_FROM,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    SesStandIn,
    TwilioStandIn,
)
from pipeline.notify.managers import add_manager, assign
from pipeline.platform import db
from pipeline.security import audit
from pipeline.security.auth import create_user, issue_token
from pipeline.security.pii import Pii
from pipeline.security.sessions import set_password

DEMO_DIR = Path(".pulse/demo")


def demo_messages(count: int, seed: int = 7) -> tuple[list[bytes], int, int]:
    """The stream: generated transactions over two hours of event time, three planted bursts (in event-time
    order, or they would be late), redeliveries and malformed messages. Returns (messages, distinct valid, bad)."""
    start = datetime.now(UTC) - timedelta(hours=2)
    records = list(generate(GeneratorSpec(2_000, 300, count, seed, start, rate=count / 7200)))
    rng = random.Random(seed)
    burst_at = start + timedelta(minutes=100)
    for n, syndicate in enumerate(SPIKED):
        for i in range(150):  # ~20x the usual 5-minute count of a syndicate
            moment = burst_at + timedelta(minutes=5 * n, seconds=1.2 * i)
            records.append(
                {
                    "transaction_id": f"burst-{syndicate}-{i}",
                    "investor_id": f"inv-{rng.randint(0, 1999):06d}",
                    "syndicate_id": syndicate,
                    "transaction_amount": f"{rng.randint(200, 5000)}.00",
                    "transaction_date": moment.isoformat(timespec="microseconds"),
                    "currency": "USD",
                }
            )
    records.append(
        {
            **records[len(records) // 2],
            "transaction_id": "whale-1",
            "syndicate_id": "syn-00042",
            "transaction_amount": "2500000.00",
        }
    )
    records.sort(key=lambda r: r["transaction_date"])
    messages = [orjson.dumps(r) for r in records]
    # A redelivered copy must come after its original: arriving first, a copy of a later event would
    # move the watermark ahead and make the events before it late (which is the rule, not a demo).
    n = len(messages)
    placed = [(float(i), m) for i, m in enumerate(messages)]
    for i in rng.sample(range(n), k=max(1, count // 200)):
        placed.append((rng.uniform(i + 0.5, i + 50), messages[i]))
    bad = [
        b"not json",
        b"[1, 2, 3]",
        orjson.dumps({**records[0], "transaction_id": "bad-amount", "transaction_amount": "-5.00"}),
        orjson.dumps(
            {**records[1], "transaction_id": "bad-precision", "transaction_amount": "10.005"}
        ),
        orjson.dumps(
            {**records[2], "transaction_id": "bad-date", "transaction_date": "2026-01-01T10:00:00"}
        ),
        orjson.dumps({k: v for k, v in records[3].items() if k != "investor_id"}),
        orjson.dumps({**records[4], "transaction_amount": "99.99"}),  # conflicting duplicate
    ]
    placed += [(rng.uniform(0, n), m) for m in bad]
    placed.sort(key=lambda p: p[0])
    return [m for _, m in placed], len(records), len(bad)


def post(port: int, path: str, body: dict | None, key: str, token: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body or {}).encode(),
        method="POST",
        headers={
            "Idempotency-Key": key,
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def fund_a_pool(port: int, log: list[str], token: str, manager_id: str) -> dict:
    """A pool's life over the HTTP API, as its fund manager: commitments, a capital call, payments,
    a distribution."""

    def _post(port: int, path: str, body: dict | None, key: str) -> dict:
        return post(port, path, body, key, token)

    pool = _post(
        port,
        "/pools",
        {
            "name": "Pulse Demo Fund I",
            "currency": "USD",
            "target_size": "100000.00",
            "hard_cap": "150000.00",
            "manager_id": manager_id,
        },
        "demo-pool",
    )
    pid = pool["id"]
    commitments = {"inv-000001": "12345.67", "inv-000002": "23456.78", "inv-000003": "34567.89"}
    for investor, amount in commitments.items():
        _post(
            port,
            f"/pools/{pid}/commitments",
            {"investor_id": investor, "amount": amount},
            f"demo-c-{investor}",
        )
    log.append(
        f"pool: 3 commitments, {sum(Decimal(a) for a in commitments.values()):,.2f} committed"
    )
    call = _post(
        port, f"/pools/{pid}/capital-calls", {"percent": 100, "due_date": "2026-12-31"}, "demo-call"
    )
    log.append(f"pool: capital call of {Decimal(call['amount']):,.2f}, allocated pro rata")
    for investor, amount in call["allocations"].items():
        _post(
            port,
            f"/pools/{pid}/contributions",
            {"investor_id": investor, "call_id": call["call_id"], "amount": amount},
            f"demo-pay-{investor}",
        )
    log.append("pool: every investor paid in full")
    dist = _post(port, f"/pools/{pid}/distributions", {"amount": "100000.00"}, "demo-dist")
    # One line per investor: every line stays whole at 80 columns, however many there are.
    log.append("pool: distributed 100,000.00 pro rata to what each paid in:")
    log.extend(f"  {i} {Decimal(a):>12,.2f}" for i, a in dist["allocations"].items())
    return dist["pool"]


@dataclass
class Demo:
    """One run: the stack, the stand-ins and the worker it started, and what it produces."""

    console: Console
    stack: LocalStack
    info: StackInfo
    settings: Settings
    twilio: TwilioStandIn
    ses: SesStandIn
    token: str
    port: int
    manager_id: str
    # The console's users: (user name, role, password), made up for this run.
    sign_ins: list[tuple[str, str, str]]
    worker: subprocess.Popen[bytes] | None = None
    began: float = field(default_factory=time.monotonic)


def run_demo(transactions: int, follow: bool, console: Console) -> None:
    demo = _set_up(console)
    try:
        demo.worker = _start_worker(demo)
        view = _watch(demo, transactions)
        _summarise(demo, view)
    finally:
        if not follow:
            _tear_down(demo)
    if follow:
        console.print(f"\n[bold]console[/bold]: http://127.0.0.1:{demo.port}/console/")
        for username, role, password in demo.sign_ins:
            console.print(f"  {role:<13} user [bold]{username}[/bold]  password {password}")
        console.print(
            f"worker pid {demo.worker.pid} on :{demo.port} and the stack keep running.\n"
            f"  a token for the pools API: PULSE_DATA_DIR={DEMO_DIR} pulse tokens issue dana\n"
            f"  stop the stack:            PULSE_DATA_DIR={DEMO_DIR} pulse local down"
        )


def _set_up(console: Console) -> Demo:
    """A fresh embedded stack and stand-ins; a fund manager with SMS and email who runs the
    spiked syndicates, and a user of the pools API for them."""
    stack = LocalStack(DEMO_DIR)
    if stack.running() is None and DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)  # a fresh world: the broker kept nothing anyway
    console.print("starting the embedded broker and PostgreSQL, migrating")
    console.print("starting stand-ins for Twilio (SMS) and SES (email)")
    info = stack.up()
    db.upgrade(info.database_url)
    twilio, ses = TwilioStandIn(), SesStandIn()
    twilio.start()
    ses.start()
    # The worker runs with PULSE_DATA_DIR=DEMO_DIR, so both find the same generated secrets there.
    settings = Settings(data_dir=DEMO_DIR, kafka_url=info.kafka_url, database_url=info.database_url)
    manager = add_manager(
        info.database_url,
        "Dana Demo",
        TWILIO_FROM.replace("6", "7"),
        "dana@fund.example",
        "sms,email",
        cipher=Pii(settings),
    )
    # One user per role for the console; dana is the fund manager the alerts go to.
    users = [
        Principal.define("admin", "admin"),
        Principal.define("dana", "fund_manager", manager_id=str(manager)),
        Principal.define("ivan", "investor", investor_id="inv-000001"),
        Principal.define("olga", "ops"),
    ]
    sign_ins = []
    for user in users:
        create_user(info.database_url, user)
        password = secrets.token_urlsafe(12)  # made up per run: a demo ships no known password
        set_password(info.database_url, user.username, password)
        sign_ins.append((user.username, user.role.value.replace("_", " "), password))
    token = issue_token(settings, users[1], timedelta(hours=1))
    for syndicate, name in SPIKED.items():
        set_syndicate(info.database_url, SyndicateUpdate(syndicate, name=name))
        assign(info.database_url, str(manager), syndicate)
    return Demo(
        console, stack, info, settings, twilio, ses, token, free_port(6066), str(manager), sign_ins
    )


def _start_worker(demo: Demo) -> subprocess.Popen[bytes]:
    env = pulse_environment(
        demo.info.kafka_url,
        demo.info.database_url,
        DEMO_DIR,
        PULSE_WEB_PORT=str(demo.port),
        PULSE_TWILIO_ACCOUNT_SID=TWILIO_SID,
        PULSE_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        PULSE_TWILIO_FROM=TWILIO_FROM,
        PULSE_TWILIO_API_URL=demo.twilio.url,
        PULSE_NOTIFY_RETRY_DELAYS="1,2,5",
    )
    if demo.ses.url:
        env |= {
            "PULSE_EMAIL_FROM": EMAIL_FROM,
            "AWS_ENDPOINT_URL_SES": demo.ses.url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
        }
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "worker"],
        env=env,
        stdout=(DEMO_DIR / "worker.log").open("ab"),
        stderr=subprocess.STDOUT,
    )


def _watch(demo: Demo, transactions: int) -> View:
    """Produce the stream and show the live view until everything is stored and delivered."""
    messages, expected_rows, expected_bad = demo_messages(transactions)
    copies = len(messages) - expected_rows - expected_bad
    demo.console.print(f"worker on :{demo.port}; producing {len(messages):,} messages:")
    demo.console.print(
        f"  {expected_rows:,} transactions with 3 planted spikes, {copies} redelivered copies,"
        f" {expected_bad} malformed"
    )
    produced = [0]
    view = View(demo.info.database_url, produced, expected_rows, demo.twilio, demo.ses, copies)
    producer = threading.Thread(
        target=_produce, args=(demo.settings, messages, produced), daemon=True
    )
    producer.start()
    with Live(view.render(), console=demo.console, refresh_per_second=4) as live:
        deadline = time.monotonic() + 300
        while not _finished(demo, view, expected_rows, expected_bad):
            live.update(view.render())
            if time.monotonic() > deadline:
                raise SystemExit(
                    "timed out waiting for the worker; see " + str(DEMO_DIR / "worker.log")
                )
            time.sleep(0.25)
        time.sleep(1.0)
        live.update(view.render())
    return view


def _finished(demo: Demo, view: View, expected_rows: int, expected_bad: int) -> bool:
    assert demo.worker is not None
    if demo.worker.poll() is not None:
        raise SystemExit(
            f"the worker exited with {demo.worker.returncode}; see {DEMO_DIR / 'worker.log'}"
        )
    snap = view.snapshot()
    if view.pool is None and snap["stored"] > 0:
        view.pool = fund_a_pool(demo.port, view.log, demo.token, demo.manager_id)
    pending = sum(n for k, n in snap["sent"].items() if k.endswith((":pending", ":sending")))
    return (
        snap["stored"] >= expected_rows
        and snap["dead"] >= expected_bad
        and view.pool is not None
        and not pending
        and sum(snap["sent"].values()) >= snap["owed"]
    )


def _summarise(demo: Demo, view: View) -> None:
    snap = view.snapshot()
    held = sum(n for k, n in snap["sent"].items() if k.endswith(":held"))
    pool = view.pool or {}
    emails = len(demo.ses.sent()) if demo.ses.url else 0
    lines = [
        f"{snap['stored']:,} transactions stored exactly once, {snap['dead']} dead-lettered",
        f"alerts: {snap['kinds'].get('spike', 0)} spikes,"
        f" {snap['kinds'].get('large_transaction', 0)} large transactions",
        f"delivered to stand-ins: {len(demo.twilio.delivered)} SMS,"
        f" {emails} emails ({held} held for a digest)",
        f"pool {pool.get('name', '-')}: committed {_money(pool.get('committed'))},"
        f" distributed {_money(pool.get('distributed'))}",
        f"demo took {time.monotonic() - demo.began:.1f} s",
    ]
    demo.console.print("\n[bold]summary[/bold]\n" + "\n".join(f"  {line}" for line in lines))
    rows, problems, _ = audit.verify(demo.info.database_url)
    demo.console.print(
        f"audit log: {rows} state-changing requests recorded, hash chain "
        + ("intact" if not problems else f"BROKEN: {problems[0]}")
    )


def _tear_down(demo: Demo) -> None:
    if demo.worker is not None:
        demo.worker.terminate()
        try:
            demo.worker.wait(20)
        except subprocess.TimeoutExpired:
            demo.worker.kill()
    demo.twilio.stop()
    demo.ses.stop()
    demo.stack.down()


def _money(value: object) -> str:
    return "-" if value is None else f"{Decimal(str(value)):,.2f}"


def _produce(settings: Settings, messages: list[bytes], produced: list[int]) -> None:
    from pipeline.devtools.produce import produce

    def count(n: int) -> None:
        produced[0] += n

    asyncio.run(
        produce(
            settings.kafka_bootstrap(), iter(messages), settings.topic_partitions, on_sent=count
        )
    )

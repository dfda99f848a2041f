"""Console pages, timed from the outside: 1,000,000 transactions and 100,000 alerts stored, a real worker,
signed-in users. Prints per page the median and p99 of the server's answer (the worker's web server on
loopback; the server's own time is in its request log line, within a millisecond of this), and how long
a new alert takes from its transaction being produced to its row arriving on a fund manager's live list
(the server-sent events the page listens to)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import statistics
import threading
import time
import urllib.request
from datetime import UTC, datetime

import orjson
import psycopg
import requests
from aiokafka import AIOKafkaProducer

import sql
from bench.common import bench_stack, load_rows, record
from models.access import Principal
from models.anomaly import AlertKind, alert_id
from pipeline.devtools.local_stack import free_port
from pipeline.notify.managers import add_manager, assign
from pipeline.platform import db
from pipeline.security.auth import create_user
from pipeline.security.sessions import set_password

PASSWORD = "benchmark pass phrase"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def load(database_url: str, transactions: int, alerts: int) -> None:
    load_rows(database_url, transactions, investors=200_000, syndicates=2_000)
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as conn:
        conn.execute(sql.load("devtools/bench_aggregates"))
        conn.execute(
            sql.load("devtools/bench_alerts"),
            {"alerts": alerts, "step": max(1, transactions // alerts)},
        )
        conn.execute("VACUUM ANALYZE")


def users(database_url: str) -> None:
    manager = str(add_manager(database_url, "Bench Manager", None, "bench@fund.example", "email"))
    for n in range(20):  # 1% of the syndicates: about 1,000 of the alerts
        assign(database_url, manager, f"syn-{n:05d}")
    for principal in (
        Principal.define("root", "admin"),
        Principal.define("ann", "fund_manager", manager_id=manager),
        Principal.define("ivy", "investor", investor_id="inv-0000001"),
        Principal.define("olga", "ops"),
    ):
        create_user(database_url, principal)
        set_password(database_url, principal.username, PASSWORD)


def signed_in(base: str, username: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{base}/console/login", timeout=30)
    token = TOKEN.search(page.text)[1]  # type: ignore[index]
    answer = http.post(
        f"{base}/console/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        headers={"Origin": base},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 303, answer.text[:300]
    return http


def timed(http: requests.Session, url: str, runs: int) -> dict[str, float]:
    http.get(url, timeout=60)  # warm: caches, prepared plans
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        answer = http.get(url, timeout=60)
        samples.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (url, answer.status_code)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p99_ms": round(samples[max(0, int(len(samples) * 0.99) - 1)], 1),
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--live-alerts", type=int, default=20)
    args = parser.parse_args(argv)
    with bench_stack() as stack:
        load(stack.database_url, args.transactions, args.alerts)
        users(stack.database_url)
        port = free_port()
        stack.start_worker(
            PULSE_WEB_PORT=str(port), PULSE_CONSOLE_SECRET="bench-console-secret-0123456789abcdef"
        )
        base = answering(f"http://127.0.0.1:{port}")
        sessions = {u: signed_in(base, u) for u in ("root", "ann", "ivy", "olga")}
        with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
            spike = conn.execute(
                "SELECT alert_id FROM alerts WHERE kind = 'spike' LIMIT 1"
            ).fetchone()[0]
        pages = {
            "alerts (manager, ~1,000 of theirs)": ("ann", "/console/alerts"),
            "alerts (admin, all 100,000)": ("root", "/console/alerts"),
            "alerts open, one syndicate": (
                "ann",
                "/console/alerts?status=open&syndicate_id=syn-00003",
            ),
            "spike chart (70 minutes)": ("root", f"/console/alerts/{spike}/chart"),
            "syndicate settings": ("ann", "/console/syndicates/syn-00001"),
            "pools": ("ann", "/console/pools"),
            "investor": ("ivy", "/console/me"),
            "ops": ("olga", "/console/ops"),
            "admin (users, managers, top 5)": ("root", "/console/admin"),
        }
        times = {
            name: timed(sessions[user], base + path, args.runs)
            for name, (user, path) in pages.items()
        }
        live = live_latency(stack.bootstrap, base, sessions["ann"], args.live_alerts)
    for name, t in times.items():
        print(f"{name:<40} p50 {t['p50_ms']:>7.1f} ms   p99 {t['p99_ms']:>7.1f} ms")
    print(
        f"live alert, produced -> on the page's stream: p50 {live['p50_ms']} ms, "
        f"max {live['max_ms']} ms ({live['arrived']} of {live['alerts']} arrived)"
    )
    out = {
        "transactions": args.transactions,
        "alerts": args.alerts,
        "runs": args.runs,
        "pages": times,
        "live_alert": live,
    }
    record("console", out)
    return out


def live_latency(bootstrap: str, base: str, http: requests.Session, n: int) -> dict[str, object]:
    """Large transactions for the manager's syndicate, one a second; each timed from its send to
    its row on the live stream."""
    arrived: dict[str, float] = {}
    stream = http.get(
        f"{base}/console/alerts/live",
        stream=True,
        timeout=120,
        headers={"Accept": "text/event-stream"},
    )

    def listen() -> None:
        with contextlib.suppress(requests.RequestException, AttributeError):
            for line in stream.iter_lines():
                if line.startswith(b"data: "):
                    arrived.setdefault(orjson.loads(line[6:])["id"], time.perf_counter())

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(1.0)  # the stream's first poll
    sent = asyncio.run(_produce_large(bootstrap, n))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(a in arrived for a in sent):
        time.sleep(0.1)
    stream.close()
    delays = sorted((arrived[a] - t) * 1000 for a, t in sent.items() if a in arrived)
    return {
        "alerts": len(sent),
        "arrived": len(delays),
        "p50_ms": round(statistics.median(delays), 1) if delays else None,
        "max_ms": round(delays[-1], 1) if delays else None,
    }


async def _produce_large(bootstrap: str, n: int) -> dict[str, float]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    sent = {}
    try:
        for i in range(n):
            tid = f"live-{i}"
            value = orjson.dumps(
                {
                    "transaction_id": tid,
                    "investor_id": "inv-live",
                    "syndicate_id": "syn-00001",
                    "transaction_amount": "50000.00",
                    "transaction_date": datetime.now(UTC).isoformat(),
                }
            )
            began = time.perf_counter()
            await producer.send_and_wait("transactions", value, key=b"syn-00001")
            sent[str(alert_id(AlertKind.LARGE_TRANSACTION, "syn-00001", tid))] = began
            await asyncio.sleep(1.0)
    finally:
        await producer.stop()
    return sent


def answering(base: str) -> str:
    """The worker's address, once its console answers."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/console/login", timeout=5):
                return base
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the worker's console did not answer in 120 s")

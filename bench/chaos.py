"""Fault injection with an oracle: `make chaos` (a short version runs in `make test`).

Each scenario runs the real worker on the embedded stack, injects faults while it works, and compares the
final state with an oracle computed independently from the produced input (tests/oracle.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.common import BenchStack, bench_stack, stop_worker, wait_for_count
from pipeline import db
from pipeline.produce import produce
from tests import oracle

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Outcome:
    scenario: str
    runs: int
    faults: int
    differences: int
    detail: str = ""


def chaos_stream(syndicates: int, hours: float, seed: int) -> list[dict]:
    """Steady traffic (~2 per minute per syndicate), three bursts of ~30x, about 1 in 300 above the threshold."""
    rng = random.Random(seed)
    out = []
    end = T0 + timedelta(hours=hours)
    burst_at = T0 + timedelta(hours=hours * 0.8)
    for s in range(syndicates):
        syndicate, moment, n = f"syn-{s:03d}", T0 + timedelta(seconds=rng.uniform(0, 30)), 0
        while moment < end:
            large = rng.random() < 1 / 300
            amount = (
                f"{rng.randint(10_001, 90_000)}.00"
                if large
                else f"{rng.randint(10, 9_000)}.{rng.randint(0, 99):02d}"
            )
            out.append(
                {
                    "transaction_id": f"{syndicate}-{n}",
                    "investor_id": f"inv-{rng.randint(0, 499):03d}",
                    "syndicate_id": syndicate,
                    "transaction_amount": amount,
                    "transaction_date": moment.isoformat().replace("+00:00", "Z"),
                }
            )
            n += 1
            burst = s < 3 and burst_at <= moment < burst_at + timedelta(minutes=4)
            moment += timedelta(seconds=rng.expovariate(1 if burst else 1 / 30))
    out.sort(key=lambda r: r["transaction_date"])
    return out


def differences(stack: BenchStack, produced: list[dict]) -> list[str]:
    """What the database holds that the oracle says it should not (and the reverse)."""
    found = []
    with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
        rows = conn.execute(
            "SELECT investor_id, syndicate_count, total_invested, transaction_count FROM investor_totals"
        )
        stored = {r[0]: (r[1], r[2], r[3]) for r in rows}
        alerts = {
            (r[0], r[1], r[2])
            for r in conn.execute("SELECT kind, syndicate_id, transaction_id FROM alerts")
        }
        count = conn.execute("SELECT count(*) FROM transactions").fetchone()[0]
    want = {
        k: (len(v.syndicates), v.total, v.count)
        for k, v in oracle.investor_totals(produced).items()
    }
    if count != len(oracle.first_wins(produced)):
        found.append(f"{count} transactions stored, {len(oracle.first_wins(produced))} expected")
    found += [
        f"investor {k}: stored {stored.get(k)}, expected {want.get(k)}"
        for k in set(stored) | set(want)
        if stored.get(k) != want.get(k)
    ]
    expected_alerts = oracle.expected_alerts_fast(produced)
    found += [f"unexpected alert {a}" for a in alerts - expected_alerts]
    found += [f"missing alert {a}" for a in expected_alerts - alerts]
    return found


def _produce(stack: BenchStack, values: list[bytes]) -> None:
    summary = asyncio.run(produce(stack.bootstrap, iter(values), 4))
    assert summary.failed == 0


def kills(n_kills: int, syndicates: int, hours: float, seed: int = 1) -> Outcome:
    """SIGKILL the worker at random moments while it ingests a stream with planted spikes."""
    stream = chaos_stream(syndicates, hours, seed)
    rng = random.Random(seed)
    with bench_stack() as stack:
        _produce(stack, [orjson.dumps(r) for r in stream])
        # Offsets are committed rarely, so every kill forces a long replay.
        worker = stack.start_worker("w0", PULSE_COMMIT_INTERVAL="5")
        done = 0
        while done < n_kills and stack.count() < len(stream):
            time.sleep(rng.uniform(1.0, 4.0))
            if stack.count() >= len(stream):
                break
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            done += 1
            worker = stack.start_worker(f"w{done}", PULSE_COMMIT_INTERVAL="5")
        wait_for_count(stack, len(stream), timeout=600)
        time.sleep(2)
        found = differences(stack, stream)
        stop_worker(worker)
    return Outcome(
        f"SIGKILL the worker ({len(stream):,} transactions, planted spikes)",
        1,
        done,
        len(found),
        "; ".join(found[:3]),
    )


def postgres_restart(syndicates: int, hours: float, seed: int = 2) -> Outcome:
    """Stop PostgreSQL for a few seconds in the middle of a run."""
    stream = chaos_stream(syndicates, hours, seed)
    with bench_stack() as stack:
        _produce(stack, [orjson.dumps(r) for r in stream])
        worker = stack.start_worker()
        wait_for_count(stack, len(stream) // 3, timeout=120)
        stack.restart_postgres(down_seconds=3.0)
        wait_for_count(stack, len(stream), timeout=300)
        time.sleep(2)
        alive = worker.poll() is None
        found = differences(stack, stream) + ([] if alive else ["the worker died"])
        stop_worker(worker)
    return Outcome(
        f"restart PostgreSQL mid-run ({len(stream):,} transactions)",
        1,
        1,
        len(found),
        "; ".join(found[:3]),
    )


def _dumps(value: object) -> bytes:
    # The standard library: orjson refuses integers beyond 64 bits, which are exactly what a fuzzer sends.
    return json.dumps(value).encode()


def fuzzed_messages(count: int, seed: int) -> list[bytes]:
    """Malformed messages from hypothesis, invalid by construction: not JSON objects, a required field
    missing, or one field replaced by a wrong value."""
    base = {
        "transaction_id": "f",
        "investor_id": "i",
        "syndicate_id": "s",
        "transaction_amount": "10.00",
        "transaction_date": "2026-03-01T10:00:00Z",
    }
    json_values = st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=10,
    )
    not_objects = st.one_of(
        st.binary(max_size=200).filter(lambda b: not b.strip().startswith(b"{")),
        json_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: _dumps(v)),
    )
    missing = st.sampled_from(sorted(base)).map(
        lambda k: _dumps({f: v for f, v in base.items() if f != k})
    )
    bad_values = {
        "transaction_amount": st.one_of(
            st.just("-1.00"),
            st.just("0"),
            st.just("1.001"),
            st.text(alphabet="abc", max_size=5),
            st.booleans(),
            st.lists(st.integers(), max_size=2),
        ),
        "transaction_date": st.one_of(
            st.just("2026-03-01T10:00:00"), st.text(max_size=12), st.integers()
        ),
        "transaction_id": st.one_of(
            st.just(""),
            st.booleans(),
            st.floats(allow_nan=False),
            st.text(min_size=129, max_size=140),
        ),
        "currency": st.one_of(st.just("usd"), st.just("DOLLARS"), st.integers()),
    }
    wrong = st.sampled_from(sorted(bad_values)).flatmap(
        lambda k: bad_values[k].map(lambda v, k=k: _dumps({**base, k: v}))
    )
    out: list[bytes] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(st.one_of(not_objects, missing, wrong))
    def collect(message: bytes) -> None:
        out.append(message)

    collect()
    rng = random.Random(seed)
    while len(out) < count:  # hypothesis may stop early when it has seen everything small
        out.append(rng.choice(out) + b" ")
    return out[:count]


def fuzz(count: int, syndicates: int, hours: float, seed: int = 3) -> Outcome:
    """Fuzzed malformed messages mixed into valid traffic: all dead-lettered, worker alive, totals exact."""
    stream = chaos_stream(syndicates, hours, seed)
    bad = fuzzed_messages(count, seed)
    rng = random.Random(seed)
    values = [orjson.dumps(r) for r in stream]
    for message in bad:
        values.insert(rng.randint(0, len(values)), message)
    with bench_stack() as stack:
        _produce(stack, values)
        worker = stack.start_worker()
        wait_for_count(stack, len(stream), timeout=300)
        wait_for_count(stack, count, timeout=120, table="dead_letters")
        time.sleep(1)
        found = differences(stack, stream)
        dead = stack.count("dead_letters")
        if dead != count:
            found.append(f"{dead} dead letters, {count} expected")
        with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
            unexplained = conn.execute(
                "SELECT count(*) FROM dead_letters WHERE reason = '' OR detail = ''"
            ).fetchone()[0]
        if unexplained:
            found.append(f"{unexplained} dead letters without a reason")
        if worker.poll() is not None:
            found.append("the worker died")
        stop_worker(worker)
    return Outcome(
        f"{count:,} fuzzed malformed messages in valid traffic",
        1,
        count,
        len(found),
        "; ".join(found[:3]),
    )


def providers_outage(alerts: int, outage_seconds: float, seed: int = 7) -> Outcome:
    """Twilio and SES answer 5xx/429 for a while, then recover: every notification delivered, none twice."""
    from collections import Counter

    from pipeline.managers import add_manager, assign
    from pipeline.standins import (
        EMAIL_FROM,
        TWILIO_FROM,
        TWILIO_SID,
        TWILIO_TOKEN,
        FailingProxy,
        SesStandIn,
        TwilioStandIn,
    )

    rng = random.Random(seed)
    twilio, ses = TwilioStandIn(), SesStandIn()
    twilio_url, ses_url = twilio.start(), ses.start()
    assert ses_url is not None, "moto is needed for the SES stand-in"
    proxy = FailingProxy(ses_url)
    proxy_url = proxy.start()
    before_email = len(ses.sent())
    try:
        with bench_stack() as stack:
            manager = add_manager(
                stack.database_url, "Chaos", "+15550001234", "chaos@fund.example", "sms,email"
            )
            for s in range(10):
                assign(stack.database_url, str(manager), f"syn-{s:03d}")
            large = [
                {
                    "transaction_id": f"big-{n}",
                    "investor_id": f"inv-{n}",
                    "syndicate_id": f"syn-{n % 10:03d}",
                    "transaction_amount": f"{rng.randint(10_001, 99_999)}.00",
                    "transaction_date": (T0 + timedelta(seconds=n))
                    .isoformat()
                    .replace("+00:00", "Z"),
                }
                for n in range(alerts)
            ]
            twilio.failing_until = proxy.failing_until = time.monotonic() + outage_seconds
            _produce(stack, [orjson.dumps(r) for r in large])
            worker = stack.start_worker(
                PULSE_TWILIO_ACCOUNT_SID=TWILIO_SID,
                PULSE_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
                PULSE_TWILIO_FROM=TWILIO_FROM,
                PULSE_TWILIO_API_URL=twilio_url,
                PULSE_EMAIL_FROM=EMAIL_FROM,
                AWS_ENDPOINT_URL_SES=proxy_url,
                AWS_REGION="us-east-1",
                AWS_ACCESS_KEY_ID="chaos",
                AWS_SECRET_ACCESS_KEY="chaos",
                PULSE_NOTIFY_RETRY_DELAYS="5,10,20,40,80",
                PULSE_STORM_MAX_PER_WINDOW="1000000",
            )
            deadline = time.monotonic() + outage_seconds + 240
            while time.monotonic() < deadline:
                if len(twilio.messages) >= alerts and len(ses.sent()) - before_email >= alerts:
                    break
                time.sleep(0.5)
            time.sleep(3)  # anything sent twice would arrive by now
            stop_worker(worker)
    finally:
        twilio.stop()
        proxy.stop()
        ses.stop()
    sms = Counter(m["body"].rsplit("Alert ", 1)[1] for m in twilio.messages)
    emails = Counter(m.body.rsplit("Alert id: ", 1)[1][:8] for m in ses.sent()[before_email:])
    found = []
    if len(sms) != alerts or len(emails) != alerts:
        found.append(f"delivered {len(sms)} SMS and {len(emails)} emails for {alerts} alerts")
    found += [f"SMS for {k} sent {n} times" for k, n in sms.items() if n > 1]
    found += [f"email for {k} sent {n} times" for k, n in emails.items() if n > 1]
    return Outcome(
        f"Twilio and SES failing {outage_seconds:.0f} s ({alerts} alerts, SMS + email)",
        1,
        twilio.refused + proxy.refused,
        len(found),
        "; ".join(found[:3]),
    )


def pool_kills(commands: int, n_kills: int, seed: int = 8) -> Outcome:
    """SIGKILL the worker during a burst of pool commands; clients retry with the same keys."""
    import aiohttp

    from bench.common import free_port
    from pipeline.reconcile import reconcile

    rng = random.Random(seed)
    port = free_port()
    with bench_stack() as stack:
        holder = {"worker": stack.start_worker("p0", PULSE_WEB_PORT=str(port))}
        base = f"http://127.0.0.1:{port}"
        statuses: dict[str, int] = {}

        async def post(
            http: aiohttp.ClientSession, path: str, body: dict, key: str
        ) -> tuple[int, dict]:
            while True:  # a careful client: retry until the command has an answer
                try:
                    async with http.post(
                        base + path,
                        json=body,
                        headers={"Idempotency-Key": key},
                        timeout=aiohttp.ClientTimeout(total=20),
                    ) as r:
                        if r.status in (201, 409):
                            return r.status, await r.json()
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.3)

        async def killer() -> int:
            done = 0
            for n in range(n_kills):
                await asyncio.sleep(rng.uniform(0.3, 1.5))
                if len(statuses) >= commands:
                    break
                holder["worker"].send_signal(signal.SIGKILL)
                holder["worker"].wait(10)
                holder["worker"] = stack.start_worker(f"p{n + 1}", PULSE_WEB_PORT=str(port))
                done += 1
            return done

        async def run() -> int:
            async with aiohttp.ClientSession(headers=stack.admin_headers()) as http:
                _, pool = await post(
                    http,
                    "/pools",
                    {
                        "name": "Chaos",
                        "currency": "USD",
                        "target_size": "1000.00",
                        "hard_cap": "1000000000.00",
                        "manager_id": "m",
                    },
                    "chaos-pool",
                )
                queue = list(range(commands))

                async def client() -> None:
                    while queue:
                        n = queue.pop()
                        status, _ = await post(
                            http,
                            f"/pools/{pool['id']}/commitments",
                            {"investor_id": f"i{n % 50}", "amount": "10.00"},
                            f"chaos-c{n}",
                        )
                        statuses[f"chaos-c{n}"] = status

                kills_task = asyncio.create_task(killer())
                await asyncio.gather(*(client() for _ in range(16)))
                return await kills_task

        done = asyncio.run(run())
        found = reconcile(stack.database_url)
        with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
            events = conn.execute("SELECT count(*) FROM pool_events").fetchone()[0]
            committed = conn.execute("SELECT committed FROM pools").fetchone()[0]
        accepted = sum(1 for s in statuses.values() if s == 201)
        if events != accepted + 1:
            found.append(f"{events} events for {accepted} accepted commands and one pool")
        if committed != Decimal("10.00") * accepted:
            found.append(f"committed {committed} for {accepted} commitments of 10.00")
        stop_worker(holder["worker"])
    return Outcome(
        f"SIGKILL during {commands:,} pool commands (clients retry)",
        1,
        done,
        len(found),
        "; ".join(found[:3]),
    )


def report(outcomes: list[Outcome]) -> None:
    width = max(len(o.scenario) for o in outcomes)
    print(f"{'scenario':<{width}}  runs  faults  differences")
    for o in outcomes:
        print(f"{o.scenario:<{width}}  {o.runs:>4}  {o.faults:>6}  {o.differences:>11}")
        if o.detail:
            print(f"    {o.detail}")


def main(argv: list[str] | None = None) -> list[Outcome]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--syndicates", type=int, default=280)  # ~100,000 transactions over 3 hours
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--fuzz", type=int, default=10_000)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the providers fail")
    parser.add_argument("--pool-commands", type=int, default=3_000)
    args = parser.parse_args(argv)
    outcomes = [
        kills(args.kills, args.syndicates, args.hours),
        postgres_restart(args.syndicates // 2, args.hours),
        fuzz(args.fuzz, args.syndicates // 4, args.hours),
        providers_outage(40, args.outage),
        pool_kills(args.pool_commands, 5),
    ]
    report(outcomes)
    if any(o.differences for o in outcomes):
        raise SystemExit(1)
    return outcomes


if __name__ == "__main__":
    main()

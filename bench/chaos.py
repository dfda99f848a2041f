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
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.common import BenchStack, bench_stack, stop_worker, wait_for_count
from pipeline.devtools import oracle
from pipeline.devtools.produce import produce
from pipeline.platform import db

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


# Offsets are committed only by a clean stop: every SIGKILLed worker leaves its whole run to replay.
NO_COMMITS = {"PULSE_COMMIT_INTERVAL": "600", "PULSE_COMMIT_EVERY": "100000000"}


def kills(n_kills: int, syndicates: int, hours: float, seed: int = 1) -> Outcome:
    """SIGKILL the worker at random moments while it ingests a stream with planted spikes. Each kill
    comes after that worker stored rows of its own, and no worker commits offsets, so every kill
    forces the next worker to replay all it did."""
    stream = chaos_stream(syndicates, hours, seed)
    rng = random.Random(seed)
    replays = 0
    found: list[str] = []
    with bench_stack() as stack:
        _produce(stack, [orjson.dumps(r) for r in stream])
        worker = stack.start_worker("w0", **NO_COMMITS)
        done = 0
        while done < n_kills and stack.count() < len(stream):
            before = stack.count()
            deadline = time.monotonic() + 90
            while stack.count() == before and time.monotonic() < deadline:
                time.sleep(0.1)  # joined, replayed what others stored, and now storing its own
            time.sleep(rng.uniform(0.2, 2.0))
            if stack.count() >= len(stream):
                break
            progressed = stack.count() > before
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            done += 1
            if stack.committed_offsets() != 0:
                found.append(f"offsets committed before kill {done}")
            if not progressed:
                found.append(f"kill {done} came before the worker stored anything")
            replays += progressed
            worker = stack.start_worker(f"w{done}", **NO_COMMITS)
        wait_for_count(stack, len(stream), timeout=900)
        found += differences(stack, stream)
        stop_worker(worker)
    return Outcome(
        f"SIGKILL the worker mid-ingestion, offsets never committed ({len(stream):,} transactions,"
        f" planted spikes, {replays} full replays)",
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


# Valid but hostile: stored and counted like any other transaction.
_ODD_IDS = [
    "a/b",
    "a/b/c",
    "x|y:z",
    "back\\slash",
    "tab\tinside",
    "caf\u00e9",
    "\U0001f680-rocket",
    "\u202eRTL",
    "e\u0301",
    "k" * 128,
    "\u00e9" * 128,
]
_ODD_OFFSETS = ["Z", "+14:00", "-12:00", "+05:45", "-00:00"]
# Hostile and invalid: each must be dead-lettered with this reason.
_BAD_TEXT = ["\x00", "\ud800", "\udfff", "a\ud83d", "\x00\x00"]


def hostile_transactions(
    count: int, hours: float, seed: int
) -> list[tuple[bytes, dict | None, str]]:
    """(value, the record when it is valid, the dead-letter reason when it is not)."""
    rng = random.Random(seed)
    out: list[tuple[bytes, dict | None, str]] = []
    end = T0 + timedelta(hours=hours)
    for n in range(count):
        moment = T0 + timedelta(seconds=rng.uniform(0, hours * 3600))
        offset = rng.choice(_ODD_OFFSETS)
        record: dict = {
            "transaction_id": f"hostile-{n}/{rng.choice(_ODD_IDS)}"[:128],
            "investor_id": rng.choice([rng.choice(_ODD_IDS), 2**70 + n, f"inv-{n % 7}"]),
            "syndicate_id": f"odd-{rng.choice(_ODD_IDS)}"[:128],
            "transaction_amount": rng.choice(
                ["999999999999999999.99", "0.01", "1e2", 999999999999999999, "12.30"]
            ),
            "transaction_date": _stamp(moment, offset),
        }
        kind = rng.random()
        if kind < 0.5:
            out.append((json.dumps(record).encode(), record, ""))
            continue
        if kind < 0.75:
            field = rng.choice(["transaction_id", "investor_id", "syndicate_id"])
            text = str(record[field])[:120]
            cut = rng.randint(0, len(text))
            record[field] = text[:cut] + rng.choice(_BAD_TEXT) + text[cut:]
            reason = "bad_text"
        elif kind < 0.85:
            later = end + timedelta(days=rng.randint(365, 365 * 7000))
            record["transaction_date"] = _stamp(
                min(later, datetime(9999, 1, 1, tzinfo=UTC)), offset
            )
            reason = "future_date"
        elif kind < 0.95:
            year = rng.randint(1, 1969)
            record["transaction_date"] = f"{year:04d}-06-01T00:00:00{offset}"
            reason = "past_date"
        else:
            record["transaction_amount"] = rng.choice(["1000000000000000000", "1e400", "1e-400"])
            reason = "bad_amount"
        # ensure_ascii: lone surrogates travel as JSON escapes, as a hostile producer sends them.
        out.append((json.dumps(record, ensure_ascii=True).encode(), None, reason))
    return out


def _stamp(moment: datetime, offset: str) -> str:
    if offset in ("Z", "-00:00"):
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + offset
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S.%f") + offset


def hostile_internal(count: int, seed: int) -> dict[str, list[bytes]]:
    """Messages for the internal topics that break their contracts, each in its own way."""
    rng = random.Random(seed)
    alert = {
        "alert_id": "2f1e4a7c-5b3d-4c2e-9a1f-0b6c8d7e5f43",
        "kind": "spike",
        "syndicate_id": "odd",
        "observed": "12",
        "expected": "1.00",
        "details": {},
    }
    command = {
        "idempotency_key": "k",
        "request_hash": "h",
        "type": "commit",
        "pool_id": "p",
        "data": {},
    }
    junk = [None, True, 1, 2**80, [1], {"a": 1}, "", "\x00", "\ud800", "not a uuid", "x" * 500]
    out: dict[str, list[bytes]] = {"alerts": [], "pool-commands": []}
    for topic, doc, fields in (
        ("alerts", alert, ["alert_id", "kind", "syndicate_id", "observed", "details"]),
        ("pool-commands", command, ["type", "pool_id", "data", "idempotency_key"]),
    ):
        bad = fuzzed_messages(count // 2, seed)  # not even JSON objects, most of them
        for _ in range(count - len(bad)):
            field = rng.choice(fields)
            value = rng.choice([j for j in junk if not _valid(topic, field, j)])
            bad.append(json.dumps({**doc, field: value}, ensure_ascii=True).encode())
        out[topic] = bad
    return out


def _valid(topic: str, field: str, value: object) -> bool:
    """Whether ``value`` would pass in ``field`` (such values are left out: they are not hostile)."""
    if field in ("observed",):
        return isinstance(value, str | int) and not isinstance(value, bool)
    if field == "details":
        return value is None or isinstance(value, dict)
    if field == "data":
        return isinstance(value, dict)
    ok_text = isinstance(value, str) and bool(value.strip()) and "\x00" not in value
    ok_text = (
        ok_text
        and "\ud800" not in value
        and len(value) <= (400 if field == "idempotency_key" else 128)
    )
    if field == "alert_id" or field == "kind" or field == "type":
        return False  # none of the junk is a UUID, an alert kind or a command type
    return ok_text


def fuzz(count: int, syndicates: int, hours: float, seed: int = 3) -> Outcome:
    """Fuzzed messages on every topic a worker reads: malformed ones and valid-but-hostile ones
    (text PostgreSQL cannot store, dates far ahead and far back, the largest amounts, ids with
    separators and at the length limit). Bad ones are all dead-lettered with a reason, the worker
    stays up, and totals and alerts equal the oracle's."""
    stream = chaos_stream(syndicates, hours, seed)
    rng = random.Random(seed)
    entries: list[tuple[bytes, dict | None]] = [(orjson.dumps(r), r) for r in stream]
    malformed = fuzzed_messages(count // 2, seed)
    hostile = hostile_transactions(count - len(malformed), hours, seed)
    for message in malformed:
        entries.insert(rng.randint(0, len(entries)), (message, None))
    # Valid hostile records keep their order among themselves, so the oracle sees what the
    # worker sees for their syndicates.
    positions = sorted(rng.randint(0, len(entries)) for _ in hostile)
    for offset, (position, (value, record, _)) in enumerate(zip(positions, hostile, strict=True)):
        entries.insert(position + offset, (value, record))
    valid = [r for _, r in entries if r is not None]
    bad_transactions = len(entries) - len(valid)
    internal = hostile_internal(count // 5, seed)
    bad_internal = sum(len(v) for v in internal.values())
    with bench_stack() as stack:
        _produce(stack, [v for v, _ in entries])
        for topic, values in internal.items():
            asyncio.run(produce(stack.bootstrap, iter(values), 4, topic=topic))
        worker = stack.start_worker()
        wait_for_count(stack, len(oracle.first_wins(valid)), timeout=300)
        wait_for_count(stack, bad_transactions + bad_internal, timeout=120, table="dead_letters")
        found = differences(stack, valid)
        with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
            by_topic = dict(
                conn.execute("SELECT topic, count(*) FROM dead_letters GROUP BY topic").fetchall()
            )
            reasons = dict(
                conn.execute(
                    "SELECT reason, count(*) FROM dead_letters WHERE topic = 'transactions'"
                    " AND reason IN ('bad_text', 'future_date', 'past_date') GROUP BY reason"
                ).fetchall()
            )
            unexplained = conn.execute(
                "SELECT count(*) FROM dead_letters WHERE reason = '' OR detail = ''"
            ).fetchone()[0]
        want = {"transactions": bad_transactions, **{t: len(v) for t, v in internal.items()}}
        if by_topic != want:
            found.append(f"dead letters by topic {by_topic}, expected {want}")
        for reason in ("bad_text", "future_date", "past_date"):
            expected = sum(1 for _, r, why in hostile if r is None and why == reason)
            if reasons.get(reason, 0) != expected:
                found.append(f"{reasons.get(reason, 0)} {reason} dead letters, {expected} expected")
        if unexplained:
            found.append(f"{unexplained} dead letters without a reason")
        if worker.poll() is not None:
            found.append("the worker died")
        stop_worker(worker)
    return Outcome(
        f"{count:,} fuzzed transactions (half valid-but-hostile), {bad_internal:,} on internal topics",
        1,
        count + bad_internal,
        len(found),
        "; ".join(found[:3]),
    )


def crash_shutdown(transactions: int, seed: int = 11) -> Outcome:
    """A batch blocked inside PostgreSQL (a lock held by another session) while a service beside
    the agents crashes the app; then a new worker. Every produced transaction is stored exactly once."""
    stream = chaos_stream(max(4, transactions // 300), 1.0, seed)[:transactions]
    half = len(stream) // 2
    found: list[str] = []
    with bench_stack() as stack:
        trigger = stack.root / "crash-now"
        _produce(stack, [orjson.dumps(r) for r in stream[:half]])
        worker = stack.start_worker(
            "crashing", module="pipeline.devtools.crashing_worker", PULSE_TEST_CRASH_FILE=str(trigger)
        )
        wait_for_count(stack, half, timeout=120)
        with psycopg.connect(db.libpq_url(stack.database_url)) as blocker:
            blocker.execute("LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE")
            _produce(stack, [orjson.dumps(r) for r in stream[half:]])
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not _waiting_on_a_lock(stack):
                time.sleep(0.1)
            trigger.touch()
            worker.wait(60)
            blocker.rollback()
        if stack.count() != half:
            found.append(f"{stack.count()} stored while blocked, {half} expected")
        replacement = stack.start_worker("replacement")
        wait_for_count(stack, len(stream), timeout=180)
        found += differences(stack, stream)
        stop_worker(replacement)
    return Outcome(
        f"app crash with a batch blocked in PostgreSQL ({len(stream):,} transactions)",
        1,
        1,
        len(found),
        "; ".join(found[:3]),
    )


def _waiting_on_a_lock(stack: BenchStack) -> bool:
    with psycopg.connect(db.libpq_url(stack.database_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        ).fetchone()
    return bool(row and row[0])


def providers_outage(alerts: int, outage_seconds: float, seed: int = 7) -> Outcome:
    """Twilio and SES answer 5xx/429 for a while, then recover: every notification delivered, none twice."""
    from collections import Counter

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
    sms = Counter(m.body.rsplit("Alert ", 1)[1] for m in twilio.delivered)
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


def _settled(stack: BenchStack, rows: int) -> bool:
    with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
        done, open_ = conn.execute(
            "SELECT count(*) FILTER (WHERE status IN ('sent', 'failed', 'digested')),"
            " count(*) FILTER (WHERE status IN ('pending', 'sending', 'held', 'digesting'))"
            " FROM notifications WHERE channel IN ('sms', 'email')"
        ).fetchone()
    return done >= rows and open_ == 0


def pool_kills(commands: int, n_kills: int, seed: int = 8) -> Outcome:
    """SIGKILL the worker during a burst of pool commands; clients retry with the same keys."""
    import aiohttp

    from bench.common import free_port
    from pipeline.pools.reconcile import reconcile

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
        crash_shutdown(20_000),
        providers_outage(40, args.outage),
        pool_kills(args.pool_commands, 5),
    ]
    report(outcomes)
    if any(o.differences for o in outcomes):
        raise SystemExit(1)
    return outcomes


if __name__ == "__main__":
    main()

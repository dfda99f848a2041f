"""SIGKILL, PostgreSQL restarts and an app crash mid-batch: nothing lost, nothing counted twice."""

from __future__ import annotations

import random
import signal
import time

import orjson
import psycopg

from bench.chaos.scenario import Outcome, chaos_stream, differences, produce_stream
from bench.common import BenchStack, bench_stack, stop_worker, wait_for_count
from pipeline.devtools.environment import NO_COMMITS
from pipeline.platform import db


def kills(n_kills: int, syndicates: int, hours: float, seed: int = 1) -> Outcome:
    """SIGKILL the worker at random moments while it ingests a stream with planted spikes. Each kill
    comes after that worker stored rows of its own, and no worker commits offsets, so every kill
    forces the next worker to replay all it did."""
    stream = chaos_stream(syndicates, hours, seed)
    rng = random.Random(seed)
    replays = 0
    found: list[str] = []
    with bench_stack() as stack:
        produce_stream(stack, [orjson.dumps(r) for r in stream])
        worker = stack.start_worker("w0", **NO_COMMITS)
        done = 0
        while done < n_kills and stack.count() < len(stream):
            before = stack.count()
            deadline = time.monotonic() + 90
            while stack.count() == before and time.monotonic() < deadline:
                time.sleep(0.1)  # joined, replayed what others stored, and now storing its own
            # Killed at a random point within its share of what is left, so that every kill asked
            # for happens however fast the worker is (a fixed pause let a faster worker finish
            # the stream after 11 kills of 20).
            share = (len(stream) - before) // (n_kills - done + 1)
            target = before + rng.randint(1, max(1, share))
            while stack.count() < target and time.monotonic() < deadline:
                time.sleep(0.05)
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
        produce_stream(stack, [orjson.dumps(r) for r in stream])
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


def crash_shutdown(transactions: int, seed: int = 11) -> Outcome:
    """A batch blocked inside PostgreSQL (a lock held by another session) while a service beside
    the agents crashes the app; then a new worker. Every produced transaction is stored exactly once."""
    stream = chaos_stream(max(4, transactions // 300), 1.0, seed)[:transactions]
    half = len(stream) // 2
    found: list[str] = []
    with bench_stack() as stack:
        trigger = stack.root / "crash-now"
        produce_stream(stack, [orjson.dumps(r) for r in stream[:half]])
        worker = stack.start_worker(
            "crashing",
            module="pipeline.devtools.crashing_worker",
            PULSE_TEST_CRASH_FILE=str(trigger),
        )
        wait_for_count(stack, half, timeout=120)
        with psycopg.connect(db.libpq_url(stack.database_url)) as blocker:
            blocker.execute("LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE")
            produce_stream(stack, [orjson.dumps(r) for r in stream[half:]])
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

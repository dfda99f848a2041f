"""SIGKILL during a burst of pool commands from retrying clients: reconcile clean."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal

import aiohttp
import psycopg

from bench.chaos.scenario import Outcome
from bench.common import BenchStack, bench_stack, free_port, stop_worker
from pipeline.platform import db
from pipeline.pools.reconcile import reconcile

POOL = {
    "name": "Chaos",
    "currency": "USD",
    "target_size": "1000.00",
    "hard_cap": "1000000000.00",
    "manager_id": "m",
}


@dataclass
class Burst:
    """Careful clients against a worker that keeps being killed."""

    stack: BenchStack
    port: int
    worker: subprocess.Popen[bytes]
    statuses: dict[str, int] = field(default_factory=dict)

    async def post(
        self, http: aiohttp.ClientSession, path: str, body: dict, key: str
    ) -> tuple[int, dict]:
        while True:  # a careful client: retry until the command has an answer
            try:
                async with http.post(
                    f"http://127.0.0.1:{self.port}{path}",
                    json=body,
                    headers={"Idempotency-Key": key},
                    timeout=aiohttp.ClientTimeout(total=20),
                ) as r:
                    if r.status in (201, 409):
                        return r.status, await r.json()
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.3)

    async def kill(self, n_kills: int, commands: int, rng: random.Random) -> int:
        done = 0
        for n in range(n_kills):
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            if len(self.statuses) >= commands:
                break
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait(10)
            self.worker = self.stack.start_worker(f"p{n + 1}", PULSE_WEB_PORT=str(self.port))
            done += 1
        return done

    async def run(self, commands: int, n_kills: int, rng: random.Random) -> int:
        async with aiohttp.ClientSession(headers=self.stack.admin_headers()) as http:
            _, pool = await self.post(http, "/pools", POOL, "chaos-pool")
            queue = list(range(commands))

            async def client() -> None:
                while queue:
                    n = queue.pop()
                    status, _ = await self.post(
                        http,
                        f"/pools/{pool['id']}/commitments",
                        {"investor_id": f"i{n % 50}", "amount": "10.00"},
                        f"chaos-c{n}",
                    )
                    self.statuses[f"chaos-c{n}"] = status

            kills = asyncio.create_task(self.kill(n_kills, commands, rng))
            await asyncio.gather(*(client() for _ in range(16)))
            return await kills


def pool_kills(commands: int, n_kills: int, seed: int = 8) -> Outcome:
    """SIGKILL the worker during a burst of pool commands; clients retry with the same keys."""
    port = free_port()
    with bench_stack() as stack:
        burst = Burst(stack, port, stack.start_worker("p0", PULSE_WEB_PORT=str(port)))
        done = asyncio.run(burst.run(commands, n_kills, random.Random(seed)))
        found = reconcile(stack.database_url) + _ledger_differences(stack, burst.statuses)
        stop_worker(burst.worker)
    return Outcome(
        f"SIGKILL during {commands:,} pool commands (clients retry)",
        1,
        done,
        len(found),
        "; ".join(found[:3]),
    )


def _ledger_differences(stack: BenchStack, statuses: dict[str, int]) -> list[str]:
    """One event per accepted command (and the pool's own), and exactly their sum committed."""
    with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
        events = conn.execute("SELECT count(*) FROM pool_events").fetchone()[0]
        committed = conn.execute("SELECT committed FROM pools").fetchone()[0]
    accepted = sum(1 for s in statuses.values() if s == 201)
    found = []
    if events != accepted + 1:
        found.append(f"{events} events for {accepted} accepted commands and one pool")
    if committed != Decimal("10.00") * accepted:
        found.append(f"committed {committed} for {accepted} commitments of 10.00")
    return found

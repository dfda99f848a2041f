"""SIGKILL during a burst of pool commands from retrying clients: reconcile clean."""

from __future__ import annotations

import asyncio
import random
import signal
from decimal import Decimal

import psycopg

from bench.chaos.scenario import Outcome
from bench.common import bench_stack, stop_worker
from pipeline.platform import db


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

"""Pool commands per second end to end: HTTP in → command topic → applied and committed → HTTP answer.

Concurrent clients spread commitments over many pools; afterwards the event log, ledger and projections
must reconcile and every answer must be a 201.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp

from bench.common import bench_stack, free_port, record, stop_worker
from pipeline.pools.reconcile import reconcile


async def run(
    base: str, pools: int, commands: int, concurrency: int, headers: dict[str, str]
) -> tuple[float, dict[int, int]]:
    async with aiohttp.ClientSession(headers=headers) as http:
        deadline = time.monotonic() + 60
        while True:
            try:
                async with http.get(f"{base}/pools/none") as r:
                    if r.status == 404:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("worker did not come up")
            await asyncio.sleep(0.2)
        ids = []
        for p in range(pools):
            body = {
                "name": f"P{p}",
                "currency": "USD",
                "target_size": "1000000000.00",
                "hard_cap": "1000000000.00",
                "manager_id": "m",
            }
            async with http.post(
                f"{base}/pools", json=body, headers={"Idempotency-Key": f"pool-{p}"}
            ) as r:
                ids.append((await r.json())["id"])
        statuses: dict[int, int] = {}
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(commands):
            queue.put_nowait(n)

        async def client() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                body = {"investor_id": f"inv-{n % 997}", "amount": "10.00"}
                async with http.post(
                    f"{base}/pools/{ids[n % pools]}/commitments",
                    json=body,
                    headers={"Idempotency-Key": f"c-{n}"},
                ) as r:
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return commands / (time.perf_counter() - started), statuses


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pools", type=int, default=40)
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    with bench_stack() as stack:
        port = free_port()
        worker = stack.start_worker(PULSE_WEB_PORT=str(port))
        try:
            rate, statuses = asyncio.run(
                run(
                    f"http://127.0.0.1:{port}",
                    args.pools,
                    args.commands,
                    args.concurrency,
                    stack.admin_headers(),
                )
            )
        finally:
            stop_worker(worker)
        differences = reconcile(stack.database_url)
    assert statuses == {201: args.commands}, statuses
    assert differences == [], differences[:5]
    result = {
        "pools": args.pools,
        "commands": args.commands,
        "concurrency": args.concurrency,
        "commands_per_s": round(rate),
        "reconcile_differences": len(differences),
    }
    record("pools", result)
    return result


if __name__ == "__main__":
    main()

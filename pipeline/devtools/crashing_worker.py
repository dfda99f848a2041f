"""``pulse worker`` with one more background task that crashes the app when a file appears.

The crash path the tests need: any unexpected exception in a task beside the agents makes Faust
crash the app, which cancels the agents mid-batch and stops the consumer. Nothing of a batch in
flight may be acknowledged then. Production code has no such task; this module adds it for tests.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from pipeline.bootstrap import bootstrap, run_worker, use_fast_loop
from pipeline.cli.common import settings

TRIGGER = Path(os.environ.get("PULSE_TEST_CRASH_FILE", "/nonexistent"))


async def crash_when_told() -> None:
    while not TRIGGER.exists():  # noqa: ASYNC110, ASYNC240 (a test hook polling a file)
        await asyncio.sleep(0.1)
    raise RuntimeError("injected: a service beside the agents failed")


if __name__ == "__main__":
    use_fast_loop()
    config = settings()
    app = bootstrap(config)
    app.task(crash_when_told)
    run_worker(app, config)

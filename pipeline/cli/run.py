"""Running the system: a worker, the notification sender alone, the demo."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer

from pipeline.cli.common import err, settings


def worker() -> None:
    """Run a stream-processing worker (the Faust app, with its web server)."""
    from pipeline.bootstrap import bootstrap, run_worker, use_fast_loop

    use_fast_loop()
    config = settings()
    run_worker(bootstrap(config), config)


def notifier() -> None:
    """Run the notification sender alone (it also runs inside `pulse worker` by default)."""
    import logging

    from pipeline.notify.sender import Notifier

    config = settings()
    logging.basicConfig(
        level=config.log_level.upper().replace("WARN", "WARNING").replace("CRIT", "CRITICAL")
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Notifier(config).run())


def demo(
    transactions: Annotated[int, typer.Option(min=1)] = 50_000,
    follow: Annotated[bool, typer.Option(help="Leave the stack and worker running")] = False,
) -> None:
    """The main job on the embedded stack, end to end."""
    from pipeline.devtools.demo import run_demo

    run_demo(transactions=transactions, follow=follow, console=err)

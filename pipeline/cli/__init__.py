"""The ``pulse`` command line."""

from __future__ import annotations


def main() -> None:
    from pipeline.cli.main import main as run

    run()

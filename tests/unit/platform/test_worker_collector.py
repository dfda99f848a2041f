"""The worker runs with the garbage collector's thresholds chosen for it (docs/PERFORMANCE.md)."""

from __future__ import annotations

import gc
import sys

import pytest

from config import Settings
from pipeline.bootstrap import WORKER_GC_THRESHOLD, run_worker


class _App:
    """Records what the worker would run under, in place of Faust's command line."""

    def __init__(self) -> None:
        self.thresholds: list[tuple[int, int, int]] = []
        self.argv: list[str] = []

    def main(self) -> None:
        self.thresholds.append(gc.get_threshold())
        self.argv = list(sys.argv)


def test_the_worker_runs_with_its_collector_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    before = gc.get_threshold()
    monkeypatch.setattr(sys, "argv", ["pulse"])
    app = _App()
    try:
        run_worker(app, Settings(log_level="warn", web_port=6067))  # type: ignore[arg-type]
    finally:
        gc.set_threshold(*before)
    assert WORKER_GC_THRESHOLD[0] > before[0]
    assert app.thresholds == [WORKER_GC_THRESHOLD]
    assert app.argv == ["pulse", "worker", "--loglevel", "warn", "--web-port", "6067"]

"""The house plan holds: imports point one way, and importing does nothing (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GROUND = {"models", "config", "sql"}
PLATFORM = GROUND | {"pipeline.platform"}
# What each package may import of the project, besides itself.
ALLOWED: dict[str, set[str]] = {
    "models": {"models"},
    "config": {"models"},
    "sql": set(),
    "pipeline.platform": GROUND,
    # The Faust tables: beside the platform, below the capability that owns what they hold.
    "tables": GROUND,
    "pipeline.alerts": PLATFORM | {"tables"},
    "pipeline.pools": PLATFORM,
    "pipeline.security": PLATFORM,
    "pipeline.ingest": PLATFORM | {"pipeline.alerts"},
    "pipeline.notify": PLATFORM | {"pipeline.security", "pipeline.alerts"},
    # Derived state checked against its source and rebuilt from it (pulse verify, pulse rebuild).
    "pipeline.integrity": PLATFORM | {"pipeline.pools", "pipeline.alerts", "tables"},
    # The console's reads and pages, over the capabilities it shows.
    "pipeline.console": PLATFORM | {"pipeline.alerts", "pipeline.pools"},
    "pipeline.bootstrap": PLATFORM
    | {
        "agents",
        "tables",
        "pipeline.alerts",
        "pipeline.ingest",
        "pipeline.notify",
        "pipeline.pools",
    }
    | {"pipeline.security", "pipeline.console"},
    "agents": PLATFORM
    | {"pipeline.alerts", "pipeline.ingest", "pipeline.notify", "pipeline.pools"}
    | {"pipeline.security", "pipeline.console"},
}


def package_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "pipeline" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def project_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found.add(max((n for n in names if package_of(n) in KNOWN), key=len, default=""))
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m and package_of(m) in KNOWN}


KNOWN = set(ALLOWED) | {"pipeline.cli", "pipeline.devtools", "pipeline.app", "tests", "bench"}
RUNTIME = [
    p
    for folder in ("models", "config", "sql", "tables", "agents", "pipeline")
    for p in sorted((ROOT / folder).rglob("*.py"))
    if package_of(module_name(p)) in ALLOWED and "migrations" not in p.parts
]


@pytest.mark.parametrize("path", RUNTIME, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path):
    own = package_of(module_name(path))
    wrong = {
        m
        for m in project_imports(path)
        if package_of(m) != own and package_of(m) not in ALLOWED[own]
    }
    assert not wrong, f"{own} may not import {sorted(wrong)}"


def test_importing_every_module_has_no_side_effects(tmp_path: Path):
    data_dir = tmp_path / "never-created"
    modules = [module_name(p) for p in RUNTIME] + ["pipeline.app", "pipeline.cli.main"]
    probe = (
        "import importlib, sys, threading\n"
        "from faust.transport.drivers import TRANSPORTS\n"
        "before = dict(TRANSPORTS.data)\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "assert dict(TRANSPORTS.data) == before, 'the Kafka transport was swapped at import'\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PULSE_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, check=True)
    assert not data_dir.exists()


def test_faust_finds_the_worker_app_through_the_composition_root(tmp_path: Path):
    env = {
        "PATH": "/usr/bin:/bin",
        "PULSE_KAFKA_URL": "kafka://127.0.0.1:1",
        "PULSE_DATABASE_URL": "postgresql://nowhere.invalid/pulse",
        "PULSE_DATA_DIR": str(tmp_path),
    }
    probe = (
        "from faust.cli.base import find_app; app = find_app('pipeline.app'); "
        "print(sorted(app.agents))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == str(
        sorted(
            [
                "agents.alerts.route_alerts",
                "agents.pools.apply_pool_commands",
                "agents.transactions.ingest_transactions",
            ]
        )
    )

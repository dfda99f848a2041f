"""The `pulse` command as a user meets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from pipeline.platform import db
from tests.harness import REPO

pytestmark = pytest.mark.integration


def pulse(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env={**clean, "PULSE_DATA_DIR": str(data_dir), **env},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_without_a_stack_commands_fail_with_one_clear_line(tmp_path: Path):
    result = pulse("top-investors", data_dir=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "pulse local up" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_database_is_one_line_too(tmp_path: Path):
    result = pulse(
        "top-investors",
        data_dir=tmp_path,
        PULSE_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error:")


def test_local_stack_lifecycle(tmp_path: Path):
    try:
        first = pulse("local", "up", data_dir=tmp_path)
        assert first.returncode == 0, first.stderr
        again = pulse("local", "up", data_dir=tmp_path)
        assert again.stdout == first.stdout  # idempotent: the same processes
        env = pulse("local", "env", data_dir=tmp_path).stdout.splitlines()
        assert env[0].startswith("export PULSE_KAFKA_URL='kafka://127.0.0.1:")
        assert env[1].startswith("export PULSE_DATABASE_URL='postgresql://")
        database_url = env[1].split("'")[1]
        assert pulse("db", "upgrade", data_dir=tmp_path).returncode == 0
        assert pulse("db", "upgrade", data_dir=tmp_path).returncode == 0  # idempotent
        with db.connect(database_url) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone() is not None
        top = pulse("top-investors", "--json", data_dir=tmp_path)
        assert top.returncode == 0, top.stderr
        assert orjson.loads(top.stdout) == []
        status = pulse("local", "status", data_dir=tmp_path).stdout
        assert status.count("running") == 2
    finally:
        down = pulse("local", "down", data_dir=tmp_path)
    assert "broker" in down.stdout
    assert "postgres" in down.stdout
    assert pulse("local", "status", data_dir=tmp_path).stdout.count("not started") == 2


def test_generate_is_reproducible_and_skewed(tmp_path: Path):
    args = ["--investors", "500", "--syndicates", "80", "--transactions", "3000", "--seed", "5"]
    args += ["--start", "2026-01-01T00:00:00Z", "--rate", "2"]
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.csv"
    assert pulse("generate", *args, "--out", str(a), data_dir=tmp_path).returncode == 0
    assert pulse("generate", *args, "--out", str(b), data_dir=tmp_path).returncode == 0
    assert pulse("generate", *args, "--out", str(c), data_dir=tmp_path).returncode == 0
    assert a.read_bytes() == b.read_bytes()
    assert c.read_text().splitlines()[0].startswith("transaction_id,investor_id,syndicate_id")
    rows = [orjson.loads(line) for line in a.read_text().splitlines()]
    assert len(rows) == 3000
    assert len({r["transaction_id"] for r in rows}) == 3000
    breadth: dict[str, set[str]] = {}
    for r in rows:
        breadth.setdefault(r["investor_id"], set()).add(r["syndicate_id"])
    sizes = sorted((len(s) for s in breadth.values()), reverse=True)
    assert sizes[0] >= 10 * sizes[len(sizes) // 2]  # a few investors in many syndicates
    dates = [r["transaction_date"] for r in rows]
    assert dates == sorted(dates)
    assert dates[0].startswith("2026-01-01T00:0")


def test_bad_generate_arguments_are_refused_clearly(tmp_path: Path):
    result = pulse(
        "generate", "--out", str(tmp_path / "x.jsonl"), "--start", "yesterday", data_dir=tmp_path
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "RFC 3339" in result.stderr

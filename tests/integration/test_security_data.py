"""Security of what is stored: users and tokens from the CLI, personal data encrypted at rest, KMS-wrapped keys, the audit chain."""

from __future__ import annotations

import base64
import json
import subprocess

import jwt
import pytest

from config import Settings
from pipeline.platform import db
from tests.harness import Stack, Worker, api_ready
from tests.integration.test_security import POOL

pytestmark = pytest.mark.integration


def test_users_and_tokens_from_the_cli(stack: Stack, workers: list[Worker]):
    created = stack.pulse("users", "create", "ann", "--role", "fund_manager", "--manager-id", "m-1")
    assert created.stdout == ""
    bad = stack.pulse("users", "create", "bob", "--role", "superuser", check=False)
    assert bad.returncode == 1
    assert "role 'superuser'" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = stack.pulse("users", "create", "ivy", "--role", "investor", check=False)
    assert missing.returncode == 1
    assert "--investor-id" in missing.stderr
    again = stack.pulse("users", "create", "ann", "--role", "ops", check=False)
    assert "exists already" in again.stderr
    issued = stack.pulse("tokens", "issue", "ann", "--ttl", "15m")
    token = issued.stdout.strip()
    assert issued.stdout == token + "\n"  # the token alone: `TOKEN=$(pulse tokens issue ann)`
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "ann"
    assert claims["role"] == "fund_manager"
    assert claims["exp"] - claims["iat"] == 900
    assert stack.pulse("tokens", "issue", "nobody", check=False).returncode == 1
    users = json.loads(stack.pulse("users", "list", "--json").stdout)
    assert [(u["username"], u["role"], u["manager_id"]) for u in users] == [
        ("ann", "fund_manager", "m-1")
    ]
    worker = Worker(stack).start()
    workers.append(worker)
    api = api_ready(worker, token)
    assert api.post("/pools", POOL | {"manager_id": "m-1"}, "cli")[0] == 201
    actions = [r["action"] for r in json.loads(stack.pulse("audit", "list", "--json").stdout)]
    assert actions == ["users create", "tokens issue", "POST"]


def test_personal_data_is_encrypted_at_rest_and_keys_rotate(stack: Stack):
    from cryptography.fernet import Fernet

    old = Settings().encryption_keys
    assert old is not None
    old_key, new_key = old.get_secret_value(), Fernet.generate_key().decode()
    manager_id = stack.pulse(
        "managers", "add", "--name", "Dana Demo", "--phone", "+14155550123",
        "--email", "dana@fund.example",
    ).stdout.strip()  # fmt: skip

    def stored() -> tuple[str, str, str]:
        with db.connect(stack.database_url) as conn:
            row = conn.execute(
                "SELECT name, phone, email FROM fund_managers WHERE manager_id = %s", (manager_id,)
            ).fetchone()
        assert row is not None
        return row

    before = stored()
    for clear in ("Dana", "4155550123", "dana@"):
        assert all(clear not in value for value in before)

    def listed(keys: str) -> subprocess.CompletedProcess[str]:
        return stack.pulse("managers", "list", "--json", check=False, PULSE_ENCRYPTION_KEYS=keys)

    def contact(keys: str) -> tuple[str, str, str]:
        row = json.loads(listed(keys).stdout)[0]
        return row["name"], row["phone"], row["email"]

    clear = ("Dana Demo", "+14155550123", "dana@fund.example")
    assert contact(old_key) == clear
    assert listed(new_key).returncode == 1  # the new key alone cannot read old rows yet
    both = f"{new_key},{old_key}"
    assert contact(both) == clear
    rotated = stack.pulse("keys", "rotate", PULSE_ENCRYPTION_KEYS=both)
    assert "1 fund managers" in rotated.stderr
    after = stored()
    assert all(a != b for a, b in zip(after, before, strict=True))
    assert contact(new_key) == clear  # the old key can be dropped now
    failed = listed(old_key)
    assert failed.returncode == 1
    assert "cannot be decrypted" in failed.stderr


def test_kms_wrapped_data_keys(stack: Stack, aws_env: dict[str, str]):
    import boto3

    endpoint = aws_env["AWS_ENDPOINT_URL_SES"]
    kms = boto3.client("kms", endpoint_url=endpoint)
    key_arn = kms.create_key(Description="pulse pii")["KeyMetadata"]["Arn"]
    env = {"AWS_ENDPOINT_URL_KMS": endpoint, "PULSE_KMS_KEY_ID": key_arn}
    wrapped = stack.pulse("keys", "new", **env).stdout.strip()
    # What is configured is a KMS ciphertext, not a usable key.
    assert len(base64.b64decode(wrapped)) > 32
    env["PULSE_ENCRYPTION_KEYS"] = wrapped
    manager_id = stack.pulse(
        "managers",
        "add",
        "--name",
        "Kim",
        "--email",
        "kim@fund.example",
        "--channels",
        "email",
        **env,
    )
    assert manager_id.returncode == 0, manager_id.stderr
    listed = json.loads(stack.pulse("managers", "list", "--json", **env).stdout)
    assert listed[0]["name"] == "Kim"
    env["PULSE_KMS_KEY_ID"] = kms.create_key()["KeyMetadata"]["Arn"]
    refused = stack.pulse("managers", "list", "--json", check=False, **env)
    assert refused.returncode == 1
    assert "KMS could not decrypt" in refused.stderr


def test_concurrent_audit_appends_form_one_unbroken_chain(database_url: str):
    """Many requests at once (group commit in the web server) and the CLI: one chain, no gaps."""
    import asyncio

    from psycopg_pool import AsyncConnectionPool

    from pipeline.security.audit import AuditWriter, append_sync, verify

    async def run() -> list[int]:
        pool = AsyncConnectionPool(db.libpq_url(database_url), min_size=1, max_size=2, open=False)
        await pool.open()

        async def connect() -> AsyncConnectionPool:
            return pool

        writer = AuditWriter(connect)
        try:
            entries = await asyncio.gather(
                *(
                    writer.append(
                        actor=f"u{n}",
                        role="admin",
                        action="POST",
                        target="/pools",
                        request_id=f"r{n}",
                        outcome=201,
                        detail={"n": n},
                    )
                    for n in range(300)
                )
            )
            await asyncio.to_thread(append_sync, database_url, "keys rotate", "fund_managers", 0)
            more = await writer.append(
                actor="late", role="ops", action="POST", target="/x", request_id="r", outcome=403
            )
        finally:
            await pool.close()
        return sorted(e.seq for e in [*entries, more])

    seqs = asyncio.run(run())
    assert seqs == [*range(1, 301), 302]  # 301 is the CLI's
    count, problems, head = verify(database_url)
    assert (count, problems) == (302, [])
    assert head is not None

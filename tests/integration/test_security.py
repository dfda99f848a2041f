"""Security from the outside: a real worker, real tokens and keys from the CLI, every route for every role."""

from __future__ import annotations

import base64
import http.client
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests

from config import Settings
from models.access import POLICY, PUBLIC, Principal, Role
from pipeline.platform import db
from pipeline.security import auth
from tests.harness import REPO, Stack, Worker, api_ready, issue_token, wait_until

pytestmark = pytest.mark.integration

POOL = {"name": "Fund", "target_size": "1000000.00", "hard_cap": "2000000.00"}
COMMAND_BODIES = {
    "commitments": {"investor_id": "i-1", "amount": "100.00"},
    "capital-calls": {"percent": 10, "due_date": "2026-12-31"},
    "contributions": {"investor_id": "i-1", "call_id": "none", "amount": "1.00"},
    "distributions": {"amount": "1.00"},
    "close": {},
    "open": {},
}


def routes_served(stack: Stack) -> set[tuple[str, str]]:
    """Every (method, route) the worker's web server has, read from the app itself."""
    probe = (
        "import json; from config import get_settings; from pipeline.bootstrap import bootstrap; "
        "app = bootstrap(get_settings()); "
        "app.web.blueprints.apply(app.web); "
        "print(json.dumps(sorted({(r.method, r.resource.canonical) "
        "for r in app.web.web_app.router.routes()})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env=stack.env(PULSE_DATA_DIR=str(stack.data_dir / "probe")),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    return {tuple(r) for r in json.loads(out.strip().splitlines()[-1])}  # type: ignore[misc]


def concrete(route: str, pool_id: str) -> str:
    return (
        route.replace("{pool_id}", pool_id)
        .replace("{investor_id}", "i-1")
        .replace("{name}", "x")
        .replace("{key}", "y")
        .replace("{alert_id}", NO_ALERT)
        .replace("{syndicate_id}", "syn-1")
    )


NO_ALERT = "00000000-0000-4000-8000-000000000000"
# Public routes that carry their own proof (an acknowledge link's token, Twilio's signature):
# without it, a refusal, whoever calls.
SIGNED = {
    ("GET", "/alerts/ack"): 400,
    ("POST", "/alerts/ack"): 400,
    ("POST", "/webhooks/twilio/sms"): 403,
}


def audit_verify(stack: Stack) -> subprocess.CompletedProcess[str]:
    return stack.pulse("audit", "verify", check=False)


def test_every_route_for_every_role_with_idor_attempts_and_an_audit_trail(
    stack: Stack, workers: list[Worker]
):
    served = routes_served(stack)
    undeclared = {(m, r) for m, r in served if m != "HEAD" and (m, r) not in POLICY}
    assert undeclared == set(), "every route must declare who may use it"

    worker = Worker(stack).start()
    workers.append(worker)
    tokens = {
        "admin": issue_token(stack, "root", "admin"),
        "fund_manager": issue_token(stack, "ann", "fund_manager", manager_id="m-1"),
        "investor": issue_token(stack, "ivy", "investor", investor_id="i-1"),
        "ops": issue_token(stack, "olga", "ops"),
    }
    other_manager = issue_token(stack, "ben", "fund_manager", manager_id="m-2")
    other_investor = issue_token(stack, "ida", "investor", investor_id="i-2")
    admin = api_ready(worker, tokens["admin"])
    s, mine = admin.post("/pools", POOL | {"manager_id": "m-1"}, "p-mine")
    assert s == 201
    s, theirs = admin.post("/pools", POOL | {"manager_id": "m-2"}, "p-theirs")
    assert s == 201
    for pool, key in ((mine, "c-mine"), (theirs, "c-theirs")):
        assert admin.post(f"/pools/{pool['id']}/commitments", COMMAND_BODIES["commitments"], key)[
            0
        ] == (201)

    # The matrix: every declared route, every role, and anonymous.
    posts = 0
    for (method, route), roles in sorted(POLICY.items()):
        if route.startswith("/console"):
            continue  # signed in by session cookies, not tokens: tests/integration/test_console.py
        for role in [*tokens, None]:
            api = admin.as_(tokens[role] if role else None)
            path = concrete(route, mine["id"])
            if method == "POST":
                command = route.rsplit("/", 1)[-1]
                body = COMMAND_BODIES.get(command, POOL | {"manager_id": "m-1"})
                status, answer = api.post(path, body, f"matrix-{role}-{command}")
                posts += 1
            else:
                status, answer = api.get(path)
            where = f"{role or 'anonymous'} {method} {route} -> {status} {answer!r:.200}"
            if roles is PUBLIC:
                assert status == SIGNED.get((method, route), 200), where
            elif role is None:
                assert status == 401, where
                assert answer == {
                    "error": "authentication required: send Authorization: Bearer <token>"
                }, where
            elif Role(role) not in roles:
                assert status == 403, where
            else:
                assert status not in (401, 403), where
                # Faust 404s a table we lack; there is no alert in this test.
                if method == "GET" and "{name}" not in route and "{alert_id}" not in route:
                    assert status != 404, where

    # IDOR: another manager's pool, another investor's positions: 404, as if they did not exist.
    ben, ida = admin.as_(other_manager), admin.as_(other_investor)
    missing = ben.get("/pools/no-such-pool")
    assert missing == (404, {"error": "pool no-such-pool not found"})
    assert ben.get(f"/pools/{mine['id']}") == (404, {"error": f"pool {mine['id']} not found"})
    assert ben.get(f"/pools/{mine['id']}/positions")[0] == 404
    before = admin.get(f"/pools/{mine['id']}")[1]
    for command, body in COMMAND_BODIES.items():
        status, _ = ben.post(f"/pools/{mine['id']}/{command}", body, f"idor-{command}")
        assert status == 404, command
        posts += 1
    after = admin.get(f"/pools/{mine['id']}")[1]
    assert after["committed"] == before["committed"]
    assert after["status"] == before["status"]
    assert after["sequence"] == before["sequence"]
    assert ida.get("/investors/i-1/positions") == (404, {"error": "investor i-1 not found"})
    status, own = ida.get("/investors/i-2/positions")
    assert (status, own) == (200, [])
    # A manager sees an investor's positions in their own pools only.
    ann = admin.as_(tokens["fund_manager"])
    assert {p["pool_id"] for p in ann.get("/investors/i-1/positions")[1]} == {mine["id"]}
    assert {p["pool_id"] for p in ben.get("/investors/i-1/positions")[1]} == {theirs["id"]}
    assert {p["pool_id"] for p in admin.get("/investors/i-1/positions")[1]} == {
        mine["id"],
        theirs["id"],
    }
    # A manager creates pools for themselves only; keys are per caller, never shared.
    assert ann.post("/pools", POOL | {"manager_id": "m-2"}, "k-other")[0] == 403
    status, ann_pool = ann.post("/pools", POOL | {"manager_id": "m-1"}, "same-key")
    assert status == 201
    status, ben_pool = ben.post("/pools", POOL | {"manager_id": "m-2"}, "same-key")
    assert status == 201
    assert ben_pool["id"] != ann_pool["id"]
    assert ben_pool["manager_ids"] == ["m-2"]
    posts += 3

    # Every state-changing request, allowed or not, is in the audit log, in a chain that verifies.
    posts += 2 + 2  # the setup's pools and commitments
    with db.connect(stack.database_url) as conn:
        rows = conn.execute(
            "SELECT actor, role, action, target, outcome, request_id FROM audit_log ORDER BY seq"
        ).fetchall()
    http_rows = [r for r in rows if r[2] == "POST"]
    assert len(http_rows) == posts
    assert ("anonymous", "", "POST", "/pools", 401) in [r[:5] for r in http_rows]
    assert ("ivy", "investor", "POST", "/pools", 403) in [r[:5] for r in http_rows]
    assert ("ben", "fund_manager", "POST", f"/pools/{mine['id']}/commitments", 404) in [
        r[:5] for r in http_rows
    ]
    assert all(len(r[5]) > 0 for r in http_rows)
    verified = audit_verify(stack)
    assert verified.returncode == 0, verified.stderr
    assert f"audit log intact: {len(rows)} rows" in verified.stdout

    # Tampering: an edited row, then a removed one, are named by `pulse audit verify`.
    with db.connect(stack.database_url) as conn:
        conn.execute("UPDATE audit_log SET outcome = 299 WHERE seq = 3")
    tampered = audit_verify(stack)
    assert tampered.returncode == 1
    assert "row 3: contents changed since it was written" in tampered.stderr
    with db.connect(stack.database_url) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 5")
    tampered = audit_verify(stack)
    assert "row 6: expected row 5 (rows removed?)" in tampered.stderr
    assert "row 3: contents changed" in tampered.stderr

    # No credential ever reaches the worker's log.
    log = worker.log()
    assert all(token not in log for token in tokens.values())
    assert "request " in log


def _b64(doc: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


def test_bad_tokens_api_keys_and_oversized_or_deep_bodies(stack: Stack, workers: list[Worker]):
    # Many bad credentials from one address on purpose: throttling has its own test.
    worker = Worker(stack, PULSE_AUTH_FAILURE_LIMIT="1000").start()
    workers.append(worker)
    token = issue_token(stack, "ann", "fund_manager", manager_id="m-1")
    ann = api_ready(worker, issue_token(stack, "root", "admin")).as_(token)
    assert ann.post("/pools", POOL | {"manager_id": "m-1"}, "p")[0] == 201

    settings = Settings()
    now = datetime.now(UTC)
    claims = {
        "sub": "ann",
        "role": "fund_manager",
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    expired = auth.issue_token(
        settings,
        Principal.define("ann", "fund_manager", "m-1"),
        timedelta(hours=1),
        now=now - timedelta(hours=2),
    )
    forged = jwt.encode(claims, "another-secret-entirely-0123456789abcdef", algorithm="HS256")
    as_admin = jwt.encode(claims | {"role": "admin"}, "x" * 40, algorithm="HS256")
    unsigned = (
        f"{_b64({'alg': 'none', 'typ': 'JWT'})}."
        f"{_b64({**claims, 'iat': int(now.timestamp()), 'exp': int(now.timestamp()) + 3600})}."
    )
    for bad in (expired, forged, as_admin, unsigned, "not-a-token", ""):
        status, body = ann.as_(bad).get("/pools/none")
        assert status == 401, (bad, body)
    status, body = ann.as_(None).call("GET", "/pools/none", headers={"Authorization": "Basic eDp5"})
    assert status == 401
    assert ann.as_(expired).get("/pools/none")[1] == {"error": "token expired"}

    # API keys from the CLI: printed alone, usable as Bearer or X-API-Key, refused once revoked.
    key = stack.pulse("keys", "create", "ann", "--label", "ci").stdout.strip()
    assert key.startswith("psk_")
    assert "\n" not in key
    key_id = key.split("_")[1]
    assert ann.as_(key).get("/pools/none")[0] == 404  # authenticated, the pool is unknown
    status, _ = ann.as_(None).call("GET", "/pools/none", headers={"X-API-Key": key})
    assert status == 404
    assert ann.as_(key[:-2] + "xx").get("/pools/none")[0] == 401
    listed = json.loads(stack.pulse("keys", "list", "--json").stdout)
    assert [(k["key_id"], k["username"], k["label"]) for k in listed] == [(key_id, "ann", "ci")]
    assert listed[0]["last_used_at"] is not None
    assert key not in stack.pulse("keys", "list", "--json").stdout
    with db.connect(stack.database_url) as conn:
        stored = conn.execute("SELECT secret_hash FROM api_keys").fetchone()
    assert stored is not None
    assert stored[0].startswith("$argon2")
    assert key.split("_", 2)[2] not in stored[0]
    stack.pulse("keys", "revoke", key_id)
    wait_until(lambda: ann.as_(key).get("/pools/none")[0] == 401, 10, "the revoked key refused")

    # A disabled user's tokens stop working.
    stack.pulse("users", "disable", "ann")
    wait_until(lambda: ann.get("/pools/none")[0] == 401, 10, "the disabled user refused")

    # Bodies: too large (with and without Content-Length), too deep.
    admin = ann.as_(issue_token(stack, "root", "admin"))
    big = json.dumps(POOL | {"manager_id": "m-1", "name": "x" * 70_000}).encode()
    status, body = admin.post("/pools", big, "big")
    assert status == 413
    assert "65536" in body["error"]
    connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=30)
    connection.request(
        "POST",
        "/pools",
        body=iter([big[:40_000], big[40_000:]]),
        headers={"Authorization": f"Bearer {admin.token}", "Idempotency-Key": "chunked"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 413
    assert "65536" in json.loads(response.read())["error"]
    deep = b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert admin.post("/pools", deep, "deep") == (
        422,
        {"error": "JSON nested deeper than 8 levels"},
    )
    worker.assert_alive()


def test_failed_authentication_is_throttled_and_a_key_id_alone_writes_nothing(
    stack: Stack, workers: list[Worker]
):
    worker = Worker(stack, PULSE_AUTH_FAILURE_LIMIT="3").start()
    workers.append(worker)
    admin = api_ready(worker, issue_token(stack, "root", "admin"))
    stack.pulse("users", "create", "svc", "--role", "admin")
    key = stack.pulse("keys", "create", "svc").stdout.strip()
    key_id = key.split("_")[1]
    wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")

    def last_used() -> object:
        with db.connect(stack.database_url) as conn:
            return conn.execute(
                "SELECT last_used_at FROM api_keys WHERE key_id = %s", (key_id,)
            ).fetchone()[0]

    for _ in range(3):
        assert admin.as_(wrong).get("/pools/none")[0] == 401
    assert last_used() is None  # a wrong secret writes nothing
    # Now refused before any check, the right secret too, with how long to wait.
    request = urllib.request.Request(
        f"{admin.base}/pools/none", headers={"Authorization": f"Bearer {key}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 429
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    assert last_used() is None
    # The same address is throttled whatever it presents; a request without credentials is not
    # a guess and does not count.
    assert admin.get("/pools/none")[0] == 429
    assert admin.as_(None).get("/pools/none")[0] == 401
    worker.assert_alive()


def test_the_app_runs_as_a_role_without_ddl_and_auth_off_needs_loopback(
    stack: Stack, workers: list[Worker]
):
    with db.connect(stack.database_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS pulse_app")
        conn.execute("CREATE ROLE pulse_app LOGIN")
    stack.pulse("db", "grant", "pulse_app")
    app_url = stack.database_url.replace("postgres:@", "pulse_app:@", 1)
    assert app_url != stack.database_url
    import psycopg

    with db.connect(app_url, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("pulse_app",)
        assert conn.execute("SELECT count(*) FROM pools").fetchone() == (0,)
        for statement in (
            "CREATE TABLE evil (x int)",
            "DROP TABLE pools",
            "ALTER TABLE pools ADD COLUMN x int",
            "UPDATE audit_log SET outcome = 0",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    # Auth off is for a machine's own user only: a public bind is refused at start.
    public = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "worker"],
        env=stack.env(PULSE_AUTH_ENABLED="false", PULSE_WEB_BIND="0.0.0.0"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert public.returncode != 0
    assert "needs a loopback PULSE_WEB_BIND" in public.stderr + public.stdout
    # The worker as pulse_app, auth on: the whole pool path works without DDL, and row-level
    # security agrees with the API's own checks for each caller.
    worker = Worker(stack, PULSE_DATABASE_URL=app_url).start()
    workers.append(worker)
    admin = api_ready(worker, issue_token(stack, "root", "admin"))
    pools = {}
    for manager in ("m-1", "m-2"):
        status, pool = admin.post("/pools", POOL | {"manager_id": manager}, f"as-app-{manager}")
        assert status == 201
        pools[manager] = pool["id"]
        for investor in ("i-1", "i-2"):
            body = {"investor_id": investor, "amount": "10.00"}
            assert admin.post(f"/pools/{pool['id']}/commitments", body, f"c{manager}{investor}")[
                0
            ] == (201)
    ann = admin.as_(issue_token(stack, "ann", "fund_manager", manager_id="m-1"))
    ivy = admin.as_(issue_token(stack, "ivy", "investor", investor_id="i-1"))
    assert ann.get(f"/pools/{pools['m-1']}")[0] == 200
    assert ann.get(f"/pools/{pools['m-2']}")[0] == 404
    assert len(ann.get(f"/pools/{pools['m-1']}/positions")[1]) == 2
    assert [p["pool_id"] for p in ann.get("/investors/i-2/positions")[1]] == [pools["m-1"]]
    assert {p["pool_id"] for p in ivy.get("/investors/i-1/positions")[1]} == set(pools.values())
    assert len(admin.get("/investors/i-2/positions")[1]) == 2

    def visible(setting: str | None, value: str | None) -> tuple[set[str], set[tuple[str, str]]]:
        with db.connect(app_url) as conn, conn.transaction():
            if setting:
                conn.execute("SELECT set_config(%s, %s, true)", (setting, value))
            pool_ids = {r[0] for r in conn.execute("SELECT pool_id FROM pools")}
            positions = {
                (r[0], r[1])
                for r in conn.execute("SELECT pool_id, investor_id FROM pool_positions")
            }
        return pool_ids, positions

    every = {(p, i) for p in pools.values() for i in ("i-1", "i-2")}
    assert visible(None, None) == (set(pools.values()), every)  # the agent, reconciliation
    assert visible("pulse.manager_id", "m-2") == (
        {pools["m-2"]},
        {(pools["m-2"], "i-1"), (pools["m-2"], "i-2")},
    )
    assert visible("pulse.manager_id", "m-9") == (set(), set())
    assert visible("pulse.investor_id", "i-2") == (set(), {(p, "i-2") for p in pools.values()})
    worker.stop()

    # Auth off, on loopback: one local caller who may do everything, anonymous included.
    local = Worker(stack, "local", PULSE_DATABASE_URL=app_url, PULSE_AUTH_ENABLED="false").start()
    workers.append(local)
    api = api_ready(local, token=None)
    assert api.post("/pools", POOL | {"manager_id": "m-3"}, "as-local")[0] == 201
    assert api.get("/metrics")[0] == 200
    verified = audit_verify(stack)
    assert verified.returncode == 0
    assert "7 rows" in verified.stdout  # 2 pools + 4 commitments by root, 1 pool by local

    # The console with auth off: anyone is the local admin; a user who signs in is who they are.
    stack.pulse("users", "create", "iris", "--role", "investor", "--investor-id", "i-2")
    stack.pulse("users", "set-password", "iris", input="a long password\n")
    base = f"http://127.0.0.1:{local.port}"
    browser = requests.Session()
    home = browser.get(base + "/console/", allow_redirects=False)
    assert home.headers["Location"] == "/console/admin"
    assert browser.get(base + "/console/admin").status_code == 200
    form = browser.get(base + "/console/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    signed = browser.post(
        base + "/console/login",
        data={"username": "iris", "password": "a long password", "csrf_token": token[1]},
        headers={"Origin": base},
        allow_redirects=False,
    )
    assert signed.headers["Location"] == "/console/me"
    assert browser.get(base + "/console/me").status_code == 200
    assert browser.get(base + "/console/admin", allow_redirects=False).status_code == 403

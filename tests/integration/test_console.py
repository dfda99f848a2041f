"""The console over HTTP, as a browser and an attacker would use it: sign-in per role, every console
route for every role and anonymous, another manager's things as 404 pages, forged forms, planted
session ids, sign-out, a disabled user, throttled guessing and hostile values."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import orjson
import pytest
import requests

from models.access import POLICY, POOL_COMMANDS, PUBLIC, Role
from tests.harness import (
    CONSOLE_PASSWORD,
    CONSOLE_USERS,
    Stack,
    Worker,
    console_users,
    transaction,
    wait_until,
)

pytestmark = pytest.mark.integration
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
NO_ALERT = "00000000-0000-4000-8000-000000000000"
PASSWORD = CONSOLE_PASSWORD
HOMES = {
    "admin": "/console/admin",
    "fund_manager": "/console/alerts",
    "investor": "/console/me",
    "ops": "/console/ops",
}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A cookie jar and the console's forms, as a browser fills them in."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.http = requests.Session()

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=30, **kw)

    def post(self, path: str, data: dict[str, str], origin: str | None = None, **kw):
        headers = {"Origin": origin or self.base}
        return self.http.post(
            self.base + path, data=data, headers=headers, allow_redirects=False, timeout=60, **kw
        )

    def token(self, path: str) -> str:
        page = self.get(path)
        assert page.status_code == 200, (path, page.status_code, page.text[:300])
        found = TOKEN.search(page.text)
        assert found, page.text[:500]
        return found[1]

    def sign_in(self, username: str, password: str = PASSWORD) -> requests.Response:
        token = self.token("/console/login")
        return self.post(
            "/console/login", {"username": username, "password": password, "csrf_token": token}
        )


def concrete(route: str, pool_id: str, alert_id: str) -> str:
    return (
        route.replace("{pool_id}", pool_id)
        .replace("{alert_id}", alert_id)
        .replace("{syndicate_id}", "syn-a")
        .replace("{name}", "console.css")
    )


def test_console_access_forms_and_sessions_from_the_outside(stack: Stack, workers: list[Worker]):
    ids = console_users(stack)
    weak = stack.pulse("users", "set-password", "ivy", input="short\n", check=False)
    assert weak.returncode == 1
    assert "8 to 1024 characters" in weak.stderr
    assert stack.pulse("users", "set-password", "nobody", input=PASSWORD, check=False).returncode
    worker = Worker(stack).start()
    workers.append(worker)
    stack.produce(
        orjson.dumps(transaction(tid, syndicate, T0 + timedelta(minutes=i), "25000.00"))
        for i, (tid, syndicate) in enumerate([("a-1", "syn-a"), ("b-1", "syn-b")])
    )

    def up() -> bool:
        worker.assert_alive()
        try:
            return Browser(worker.port).get("/console/login").status_code == 200
        except OSError:
            return False

    wait_until(up, 60, "the console")

    # Sign-in per role: each lands on its home page; the cookie is HttpOnly, Strict, expiring.
    browsers: dict[str, Browser] = {}
    for role, username in CONSOLE_USERS.items():
        b = Browser(worker.port)
        signed = b.sign_in(username)
        assert signed.status_code == 303, signed.text[:300]
        assert signed.headers["Location"] == HOMES[role]
        cookie = signed.headers["Set-Cookie"]
        for attribute in ("HttpOnly", "SameSite=Strict", "Max-Age=28800", "Path=/console"):
            assert attribute in cookie, cookie
        assert b.get("/console/").headers["Location"] == HOMES[role]
        browsers[role] = b
    ben = Browser(worker.port)
    assert ben.sign_in("ben").status_code == 303

    # Alerts of both syndicates, raised by the worker.
    def alert_ids() -> dict[str, str]:
        listed = orjson.loads(stack.pulse("alerts", "list", "--json").stdout)
        return {a["syndicate_id"]: a["alert_id"] for a in listed}

    alerts = wait_until(lambda: len(alert_ids()) == 2 and alert_ids(), 60, "two alerts")
    mine, theirs = alerts["syn-a"], alerts["syn-b"]
    root = browsers["admin"]
    created = root.post(
        "/console/pools",
        {
            "csrf_token": root.token("/console/pools"),
            "idempotency_key": "pool-1",
            "name": "Fund I",
            "currency": "USD",
            "target_size": "1000000.00",
            "hard_cap": "2000000.00",
            "manager_id": ids["ann"],
        },
    )
    assert created.status_code == 303, created.text[:500]
    pool_id = created.headers["Location"].rsplit("/", 1)[1]

    # The matrix: every console route, every role and anonymous (signing out last).
    console_routes = sorted(
        (item for item in POLICY.items() if item[0][1].startswith("/console")),
        key=lambda item: (item[0][1] == "/console/logout", item[0]),
    )
    for (method, route), roles in console_routes:
        path = concrete(route, pool_id, NO_ALERT)
        for role in [*HOMES, None]:
            b = browsers[role] if role else Browser(worker.port)
            if method == "GET":
                if route == "/console/alerts/live":
                    answer = b.http.get(
                        b.base + path,
                        stream=True,
                        timeout=10,
                        allow_redirects=False,
                        headers={"Accept": "text/event-stream"},  # as EventSource asks
                    )
                    answer.close()
                else:
                    answer = b.get(path)
            else:
                token = b.token(HOMES[role]) if role else "x"
                body = {"csrf_token": token, "idempotency_key": f"m-{role}-{route}"}
                if route.endswith("/commitments"):
                    body |= {"investor_id": "inv-z", "amount": "1.00"}
                answer = b.post(path, body)
            where = f"{role or 'anonymous'} {method} {route} -> {answer.status_code}"
            if roles is PUBLIC:
                # Signing in with a token that is no sign-in form's is refused.
                assert answer.status_code in ((403,) if method == "POST" else (200, 303)), where
            elif role is None:
                if method == "GET" and route != "/console/alerts/live":
                    assert answer.status_code == 303, where
                    assert answer.headers["Location"].startswith("/console/login?next="), where
                else:
                    assert answer.status_code == 401, where
            elif Role(role) not in roles:
                assert answer.status_code == 403, where
                assert "text/html" in answer.headers["Content-Type"], where
            else:
                assert answer.status_code not in (401, 403, 500), where
    for role, username in CONSOLE_USERS.items():
        b = Browser(worker.port)
        assert b.sign_in(username).status_code == 303
        browsers[role] = b
    ann = browsers["fund_manager"]

    # Another manager's alert, syndicate and pool are 404 pages, and acting on them changes nothing.
    token = ann.token("/console/alerts")
    for path in (f"/console/alerts/{theirs}/chart", "/console/syndicates/syn-b"):
        assert ann.get(path).status_code == 404, path
    refused = ann.post(f"/console/alerts/{theirs}/ack", {"csrf_token": token})
    assert refused.status_code == 404
    assert "There is no such alert here." in refused.text
    ben_token = ben.token("/console/alerts")
    assert ben.get(f"/console/pools/{pool_id}").status_code == 404
    for command in POOL_COMMANDS:
        answer = ben.post(
            f"/console/pools/{pool_id}/{command}",
            {"csrf_token": ben_token, "idempotency_key": f"idor-{command}", "amount": "5.00"},
        )
        assert answer.status_code == 404, command
    listed = {
        a["alert_id"]: a for a in orjson.loads(stack.pulse("alerts", "list", "--json").stdout)
    }
    assert listed[theirs]["status"] == "open"
    assert ann.get("/console/alerts").text.count('class="alert ') == 1

    # Forged forms: no token, another session's token, another site's page.
    for forged in ({}, {"csrf_token": ben_token}):
        answer = ann.post(f"/console/alerts/{mine}/ack", forged)
        assert answer.status_code == 403, forged
    evil = ann.post(
        f"/console/alerts/{mine}/ack", {"csrf_token": token}, origin="https://evil.example"
    )
    assert evil.status_code == 403
    assert listed[mine]["status"] == "open"
    assert orjson.loads(stack.pulse("alerts", "list", "--json", "--status", "open").stdout)[0][
        "alert_id"
    ] in (mine, theirs)
    acked = ann.post(f"/console/alerts/{mine}/ack", {"csrf_token": token, "note": "on it"})
    assert acked.status_code == 303
    # The form worked: for a few seconds this browser's pages read the primary, not a replica.
    fresh = acked.headers["Set-Cookie"]
    assert "pulse_wrote=1" in fresh
    assert "Max-Age=10" in fresh
    assert "HttpOnly" in fresh
    assert acked.headers["Location"].startswith("/console/alerts?acted=")
    page = ann.get(acked.headers["Location"])
    assert f"Alert {mine[:8]} acknowledged." in page.text
    after = {a["alert_id"]: a for a in orjson.loads(stack.pulse("alerts", "list", "--json").stdout)}
    assert after[mine]["status"] == "acknowledged"
    assert after[mine]["acknowledged_by"] == ids["ann"]

    # A planted session id signs nobody in, and sign-in never adopts one.
    planted = Browser(worker.port)
    planted.http.cookies.set(
        "pulse_session", "attacker-chosen-value", domain="127.0.0.1", path="/console"
    )
    assert planted.get("/console/alerts").status_code == 303
    assert planted.sign_in("ann").status_code == 303
    assert planted.http.cookies.get("pulse_session") != "attacker-chosen-value"
    stolen = Browser(worker.port)
    stolen.http.cookies.set(
        "pulse_session",
        planted.http.cookies.get("pulse_session"),
        domain="127.0.0.1",
        path="/console",
    )
    assert stolen.get("/console/alerts").status_code == 200
    # Sign-out ends the session for every copy of the cookie.
    out = planted.post("/console/logout", {"csrf_token": planted.token("/console/alerts")})
    assert (out.status_code, out.headers["Location"]) == (303, "/console/login")
    assert stolen.get("/console/alerts").status_code == 303
    # Sign-in's own form: a token from another browser is refused.
    other = Browser(worker.port)
    foreign_token = Browser(worker.port).token("/console/login")
    other.token("/console/login")
    answer = other.post(
        "/console/login", {"username": "ann", "password": PASSWORD, "csrf_token": foreign_token}
    )
    assert answer.status_code == 403

    # A disabled user is signed out within seconds; a new password ends every session.
    ivy = browsers["investor"]
    assert ivy.get("/console/me").status_code == 200
    stack.pulse("users", "disable", "ivy")
    wait_until(lambda: ivy.get("/console/me").status_code == 303, 10, "ivy signed out")
    olga = browsers["ops"]
    stack.pulse("users", "set-password", "olga", input="another long password\n")
    wait_until(lambda: olga.get("/console/ops").status_code == 303, 10, "olga signed out")
    assert Browser(worker.port).sign_in("olga", "another long password").status_code == 303

    # Hostile values: a clear 4xx page, never a 500.
    for path in (
        "/console/alerts?status=closed",
        "/console/alerts?syndicate_id=" + quote("\x00"),
        "/console/alerts?syndicate_id=" + "x" * 300,
    ):
        answer = ann.get(path)
        assert answer.status_code == 400, path
        assert "text/html" in answer.headers["Content-Type"]
    for path in ("/console/syndicates/" + quote("\x00"), "/console/pools/" + quote("\x00")):
        assert ann.get(path).status_code == 404, path
    token = ann.token("/console/alerts")
    assert ann.post("/console/alerts/not-an-id/ack", {"csrf_token": token}).status_code == 404
    assert (
        ann.post(
            f"/console/alerts/{mine}/resolve", {"csrf_token": token, "note": "\x00"}
        ).status_code
        == 422
    )
    hostile = Browser(worker.port)
    hostile.token("/console/login")
    for username in ("\x00", "a" * 5000, "ann\r\nSet-Cookie: x=y", "\u202eann"):
        answer = hostile.post(
            "/console/login",
            {"username": username, "password": "x", "csrf_token": hostile.token("/console/login")},
        )
        assert answer.status_code in (401, 429), username
    # Forms with values the API refuses: the API's reason, field by field, on a 4xx page; fields
    # no form has are ignored.
    refusals = [
        ({"name": "Fund\x00", "target_size": "1.00", "hard_cap": "2.00"}, 422, "invalid request"),
        ({"name": "Fund", "target_size": "lots", "hard_cap": "2.00"}, 422, "target_size: "),
        ({"name": "Fund", "target_size": "1e30", "hard_cap": "2.00"}, 422, "target_size: "),
        ({"name": "x" * 300, "target_size": "1.00", "hard_cap": "2.00"}, 422, "name: "),
        ({"name": "F", "target_size": "1", "hard_cap": "2", "status": "x", "error": "y"}, 303, ""),
    ]
    for n, (fields, status, reason) in enumerate(refusals):
        token = ann.token("/console/pools")
        answer = ann.post(
            "/console/pools", {"csrf_token": token, "idempotency_key": f"refused-{n}", **fields}
        )
        assert answer.status_code == status, fields
        assert reason in answer.text, (fields, answer.text[-2000:])
    escape = Browser(worker.port)
    token = escape.token("/console/login?next=//evil.example/")
    landed = escape.post(
        "/console/login",
        {"username": "ann", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"},
    )
    assert landed.headers["Location"] == "/console/alerts"
    settings = ann.post(
        "/console/syndicates/syn-a",
        {"csrf_token": ann.token("/console/alerts"), "threshold": "1e999999", "action": "save"},
    )
    assert settings.status_code == 422
    assert "threshold" in settings.text
    for level in ("NaN", "1", "1e16", "-Infinity", "9" * 5000):
        evidence = ann.post(
            "/console/syndicates/syn-a",
            {"csrf_token": ann.token("/console/alerts"), "spike_evidence": level, "action": "save"},
        )
        assert evidence.status_code == 422, level
        assert "spike evidence must be from 2 to 10^15" in evidence.text
    # Wrong passwords are throttled; the right one is refused too while it lasts.
    guesser = Browser(worker.port)
    answers = [guesser.sign_in("root", f"guess number {n}").status_code for n in range(11)]
    # Ten failures from one address in a minute (the hostile sign-ins above among them), then 429.
    assert 429 in answers
    first = answers.index(429)
    assert set(answers[:first]) == {401}
    assert set(answers[first:]) == {429}
    assert guesser.sign_in("root").status_code == 429
    worker.assert_alive()

"""The console in a real browser (Debian's chromium, driven by Playwright) against a real worker,
broker and PostgreSQL: sign-in and sign-out per role, a live alert arriving without a reload and
acknowledged from the page, the settings page's backtest preview, the pool flow through forms, and
forged forms and planted sessions refused. Screenshots of each page go to $PULSE_SCREENSHOTS
(``make screenshots`` writes docs/console/)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import psycopg
import pytest

from models.anomaly import AlertKind, alert_id
from pipeline.devtools.local_stack import start_broker, stop_process
from pipeline.platform import db
from tests.conftest import PostgresServer, database_url_for
from tests.harness import CONSOLE_PASSWORD, Stack, Worker, console_users, transaction, wait_until

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")

PASSWORD = CONSOLE_PASSWORD
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: without these Chromium keeps calling out.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOMES = {
    "root": "/console/admin",
    "ann": "/console/alerts",
    "ivy": "/console/me",
    "olga": "/console/ops",
}


def chromium_path() -> str:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def screenshots() -> Path | None:
    folder = os.environ.get("PULSE_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shoot(page, name: str) -> None:
    folder = screenshots()
    if folder is not None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


class Console:
    """The worker and its users, shared by this module's tests."""

    def __init__(self, stack: Stack, worker: Worker, manager_ids: dict[str, str]) -> None:
        self.stack = stack
        self.worker = worker
        self.base = f"http://127.0.0.1:{worker.port}"
        self.manager_ids = manager_ids


@pytest.fixture(scope="module")
def console(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("console")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(db.libpq_url(postgres.url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url_for(postgres.url, name)
    db.upgrade(url)
    pid, port = start_broker(folder / "broker.log")
    stack = Stack(kafka_url=f"kafka://127.0.0.1:{port}", database_url=url, data_dir=folder)
    ids = console_users(stack)
    # History for the charts and the backtest: an hour of quiet trading, then one large one.
    stack.produce(
        orjson.dumps(
            transaction(f"h-{i}", "syn-a", T0 + timedelta(minutes=i), "250.00", f"inv-{i % 7}")
        )
        for i in range(60)
    )
    stack.produce(
        [orjson.dumps(transaction("big-0", "syn-a", T0 + timedelta(minutes=61), "25000.00"))]
    )
    worker = Worker(stack).start()
    try:
        wait_until(lambda: _answers(worker), 90, "the console")
        yield Console(stack, worker, ids)
    finally:
        worker.stop()
        stop_process(pid)


def _answers(worker: Worker) -> bool:
    import urllib.request

    worker.assert_alive()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/console/login", timeout=5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def sign_in(page, console: Console, username: str) -> None:
    page.goto(console.base + "/console/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(console.base + HOMES.get(username, "/console/alerts") + "*")


def produce(console: Console, messages: list[bytes]) -> None:
    """Off the test's thread: Playwright's sync API keeps an event loop running on it."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(console.stack.produce, messages).result()


def alerts_listed(console: Console, *args: str) -> list[dict]:
    return json.loads(console.stack.pulse("alerts", "list", "--json", *args).stdout)


def test_each_role_signs_in_to_its_home_and_out_again(console: Console, page):
    for username, home in HOMES.items():
        sign_in(page, console, username)
        assert page.url.startswith(console.base + home)
        assert page.get_by_role("heading", level=1).is_visible()
        shoot(page, home.rsplit("/", 1)[1])
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(console.base + "/console/login")
        page.goto(console.base + home)
        assert page.url.startswith(console.base + "/console/login")
    page.goto(console.base + "/console/login")
    page.get_by_label("User name").fill("ann")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "wrong user name or password"
    shoot(page, "login")


def test_a_live_alert_appears_without_a_reload_and_is_acknowledged_from_the_page(
    console: Console, page
):
    sign_in(page, console, "ann")
    wait_until(lambda: alerts_listed(console), 60, "the history's large-transaction alert")
    page.goto(console.base + "/console/alerts")
    page.evaluate("window.__samePage = true")
    expected = alert_id(AlertKind.LARGE_TRANSACTION, "syn-a", "live-1")
    row = page.locator(f"#alert-{expected}")
    assert row.count() == 0
    produce(
        console,
        [orjson.dumps(transaction("live-1", "syn-a", T0 + timedelta(minutes=62), "40000.00"))],
    )
    row.wait_for(timeout=30_000)
    assert page.evaluate("window.__samePage") is True  # arrived live, not by a reload
    assert "transaction of 40,000.00 USD" in row.inner_text()
    assert row.locator("img.chart").get_attribute("alt").startswith("Chart: transaction of")
    shoot(page, "alerts")
    phone = page.context.browser.new_page(viewport={"width": 390, "height": 844})
    phone.context.add_cookies(page.context.cookies())
    phone.goto(console.base + "/console/alerts")
    shoot(phone, "alerts-phone")
    # Wide enough for its content: nothing scrolls sideways on a phone.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.close()

    row.get_by_label("Note (optional)").fill("calling the investor")
    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url("**/console/alerts?*acted=*")
    acked = page.locator(f"#alert-{expected}")
    assert acked.get_attribute("data-status") == "acknowledged"
    assert "calling the investor" in acked.inner_text()
    assert f"Alert {expected.hex[:8]} acknowledged." in page.get_by_role("status").inner_text()
    (listed,) = [
        a
        for a in alerts_listed(console, "--status", "acknowledged")
        if a["transaction_id"] == "live-1"
    ]
    assert listed["acknowledged_by"] == console.manager_ids["ann"]
    # Another manager does not see it; their own list is empty.
    other = page.context.browser.new_page()
    sign_in(other, console, "ben")
    assert other.locator("article.alert").count() == 0
    other.goto(console.base + f"/console/alerts/{expected}/chart")
    assert other.locator("body").inner_text() == "no such alert"
    other.close()


def test_changing_a_setting_shows_the_backtest_first_and_saves_on_confirmation(
    console: Console, page
):
    sign_in(page, console, "ann")
    wait_until(lambda: alerts_listed(console), 60, "the history stored and its alert raised")
    page.goto(console.base + "/console/syndicates/syn-a")
    start, end = (T0 - timedelta(hours=1)).isoformat(), (T0 + timedelta(hours=3)).isoformat()
    page.get_by_label("Threshold").fill("200.00")
    page.get_by_label("Spike evidence: 1 in N by chance").fill("10000000")
    page.get_by_label("Backtest from").fill(start)
    page.get_by_label("Backtest to").fill(end)
    page.get_by_role("button", name="Preview").click()
    summary = page.locator("#preview-summary")
    summary.wait_for()
    live = len(alerts_listed(console, "--syndicate", "syn-a"))
    # What the CLI's backtest says of the same candidate settings: every transaction of the history
    # (61, and one a test before may have added) is above 200.00, one alert each, and the spikes a
    # stricter evidence level still raises.
    candidate = json.loads(
        console.stack.pulse(
            "backtest",
            "--from",
            start,
            "--to",
            end,
            "--syndicate",
            "syn-a",
            "--threshold",
            "200.00",
            "--spike-evidence",
            "10000000",
            "--json",
        ).stdout
    )
    assert sum(a["kind"] == "large_transaction" for a in candidate) >= 61
    assert summary.inner_text() == (
        f"Live detection raised {live} alerts; the candidate settings would have raised"
        f" {len(candidate)}."
    )
    shoot(page, "syndicate-preview")
    before = console.stack.pulse("syndicates", "show", "syn-a", "--json", check=False)
    assert "has no settings of its own" in before.stderr  # nothing saved by the preview
    page.get_by_role("button", name="Save these settings").click()
    page.wait_for_url("**saved=1")
    assert page.get_by_role("status").inner_text() == "Settings saved."
    after = json.loads(console.stack.pulse("syndicates", "show", "syn-a", "--json").stdout)
    assert after["threshold"] == "200.00"
    assert after["spike_evidence"] == "10000000"


def test_the_pool_flow_through_forms_ends_in_the_documented_distribution(console: Console, page):
    sign_in(page, console, "ann")
    page.goto(console.base + "/console/pools")
    page.get_by_label("Name").fill("Fund I")
    page.get_by_label("Target size").fill("100000.00")
    page.get_by_label("Hard cap").fill("200000.00")
    page.get_by_role("button", name="Create pool").click()
    page.wait_for_url("**/console/pools/*")
    commitments = {"inv-a": "12345.67", "inv-b": "23456.78", "inv-c": "34567.89"}
    for n, (investor, amount) in enumerate(commitments.items()):
        form = page.locator("form[aria-labelledby=h-commit]")
        form.get_by_label("Investor id").fill(investor)
        form.get_by_label("Amount").fill(amount)
        if n == 0:
            # A form sent twice (a double click, a retry after a timeout) records once: both
            # carry the key the page was rendered with.
            fields = {
                name: form.locator(f"[name={name}]").input_value()
                for name in ("csrf_token", "idempotency_key", "investor_id", "amount")
            }
            url = console.base + form.get_attribute("action")
            for _ in range(2):
                sent = page.request.post(
                    url, form=fields, headers={"Origin": console.base}, max_redirects=0
                )
                assert sent.status == 303
        form.get_by_role("button", name="Record commitment").click()
        page.wait_for_url("**done=1")
    assert page.locator("#total-committed").inner_text() == "70,370.34"
    call = page.locator("form[aria-labelledby=h-call]")
    call.get_by_label("Percent of commitments").fill("100")
    call.get_by_label("Due date").fill("2026-12-31")
    call.get_by_role("button", name="Call capital").click()
    page.wait_for_url("**done=1")
    for investor, amount in commitments.items():
        pay = page.locator("form[aria-labelledby=h-contrib]")
        pay.get_by_label("Investor id").fill(investor)
        pay.get_by_label("Amount").fill(amount)
        pay.get_by_role("button", name="Record contribution").click()
        page.wait_for_url("**done=1")
    dist = page.locator("form[aria-labelledby=h-dist]")
    dist.get_by_label("Amount").fill("100000.00")
    dist.get_by_role("button", name="Distribute").click()
    page.wait_for_url("**done=1")
    distributed = {
        investor: page.locator(
            f"#positions tr[data-investor={investor}] td.distributed"
        ).inner_text()
        for investor in commitments
    }
    assert distributed == {"inv-a": "17,543.86", "inv-b": "33,333.33", "inv-c": "49,122.81"}
    assert page.locator("#total-contributed").inner_text() == "70,370.34"
    assert page.locator("#ledger tbody tr").count() > 10
    shoot(page, "pool")
    # A refused command says why, on the page, with a 4xx.
    over = page.locator("form[aria-labelledby=h-contrib]")
    over.get_by_label("Investor id").fill("inv-a")
    over.get_by_label("Amount").fill("0.01")
    with page.expect_navigation() as navigation:
        over.get_by_role("button", name="Record contribution").click()
    assert navigation.value.status == 409
    assert "exceeds" in page.get_by_role("alert").inner_text()
    page.goto(console.base + "/console/pools")
    shoot(page, "pools")

    investor = page.context.browser.new_page()
    sign_in(investor, console, "ivy")
    assert investor.locator("#received").inner_text() == "17,543.86"
    assert investor.locator("#due").inner_text() == "0.00"
    text = investor.locator("main").inner_text()
    assert "33,333.33" not in text  # nothing of anyone else
    shoot(investor, "me")
    investor.goto(console.base + "/console/alerts")
    assert investor.locator("h1").inner_text() == "403"
    investor.close()


def test_ops_and_admin_pages(console: Console, page):
    sign_in(page, console, "olga")
    lag = page.locator("#lag tbody tr")
    assert lag.count() >= 1
    assert page.get_by_role("link", name="Faust's stats page").get_attribute("href") == "/"
    shoot(page, "ops")
    page.goto(console.base + "/console/admin")
    assert page.locator("h1").inner_text() == "403"
    admin = page.context.browser.new_page()
    sign_in(admin, console, "root")
    top = admin.locator("#top5 tbody tr")
    assert top.count() == 5
    assert admin.locator("#users").inner_text().count("fund_manager") == 2
    shoot(admin, "admin")
    admin.close()


class _EvilSite(BaseHTTPRequestHandler):
    """Another site's page that posts a form to the console the moment it loads."""

    target = ""

    def do_GET(self) -> None:
        body = (
            f'<form id=f method=post action="{self.target}"><input name=note value=pwned></form>'
            "<script>document.getElementById('f').submit()</script>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_forged_forms_and_planted_sessions_are_refused(console: Console, page):
    open_alert = alert_id(AlertKind.LARGE_TRANSACTION, "syn-a", "big-0")
    sign_in(page, console, "ann")
    # Another site posts the acknowledge form with the manager's browser: refused.
    _EvilSite.target = f"{console.base}/console/alerts/{open_alert}/ack"
    evil = ThreadingHTTPServer(("127.0.0.1", 0), _EvilSite)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        with page.expect_navigation(url=f"**/console/alerts/{open_alert}/ack") as navigation:
            page.goto(f"http://localhost:{evil.server_address[1]}/")
        assert navigation.value.status in (401, 403)
    finally:
        evil.shutdown()
    (stored,) = [a for a in alerts_listed(console) if a["transaction_id"] == "big-0"]
    assert stored["status"] == "open"
    # A form whose token was tampered with is refused too, from the console's own page.
    page.goto(console.base + "/console/alerts")
    page.evaluate(
        "document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'forged')"
    )
    row = page.locator(f"#alert-{open_alert}")
    with page.expect_navigation() as navigation:
        row.get_by_role("button", name="Acknowledge").click()
    assert navigation.value.status == 403
    assert "form token" in page.get_by_role("alert").inner_text()

    # Session fixation: a session id planted before sign-in is never the one signed in.
    fresh = page.context.browser.new_context()
    fresh.add_cookies(
        [{"name": "pulse_session", "value": "planted", "url": console.base + "/console/"}]
    )
    victim = fresh.new_page()
    sign_in(victim, console, "ann")
    # The planted cookie may linger beside the new one (another path): it signs nobody in, and
    # being sent first does not sign the user out.
    (session,) = [
        c for c in fresh.cookies() if c["name"] == "pulse_session" and c["value"] != "planted"
    ]
    assert session["path"] == "/console"
    victim.goto(console.base + "/console/alerts")
    assert victim.url == console.base + "/console/alerts"
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    planted = page.context.browser.new_context()
    planted.add_cookies(
        [{"name": "pulse_session", "value": "planted", "url": console.base + "/console/"}]
    )
    attacker = planted.new_page()
    attacker.goto(console.base + "/console/alerts")
    assert attacker.url.startswith(console.base + "/console/login")
    fresh.close()
    planted.close()

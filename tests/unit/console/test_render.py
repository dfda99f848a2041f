"""Every page renders from the data its view passes, escapes what users typed, and carries the
console's headers; no broker or database needed."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from models.access import Principal, Role
from pipeline.console import render
from pipeline.console.reads import shown

ANN = Principal("ann", Role.FUND_MANAGER, manager_id="m-1")
HOSTILE = '<script>alert("x")</script>'


def alert(**overrides: object) -> dict:
    raw = {
        "alert_id": "7c0e3a2e-8d4e-4c55-9a59-3f7f8f9b9a10",
        "kind": "spike",
        "syndicate_id": HOSTILE,
        "syndicate_name": None,
        "transaction_id": "t-1",
        "observed": Decimal("42"),
        "expected": Decimal("20.00"),
        "ratio": Decimal("21.0"),
        "window_start": None,
        "window_end": None,
        "event_time": None,
        "detected_at": None,
        "details": {"baseline_per_5min": "2.00", "multiplier": "10"},
        "status": "acknowledged",
        "acknowledged_by": "m-1",
        "acknowledged_at": None,
        "resolved_by": None,
        "resolved_at": None,
        "escalation_level": 2,
        "last_via": "console",
        "last_note": HOSTILE,
    }
    return shown({**raw, **overrides})


PAGES = {
    "login.html": {"error": HOSTILE, "username": HOSTILE, "next": "/console/", "login_token": "t"},
    "message.html": {"heading": "Not found", "message": HOSTILE},
    "alerts.html": {
        "alerts": [alert(), alert(kind="large_transaction", status="open", details={})],
        "statuses": ["open", "acknowledged", "resolved"],
        "status": "open",
        "syndicate_id": "",
        "syndicates": [HOSTILE],
        "live_query": "status=open",
        "back": "/console/alerts",
        "notice": HOSTILE,
    },
    "syndicate.html": {
        "syndicate_id": HOSTILE,
        "settings": {
            "name": None,
            "threshold": None,
            "spike_multiplier": Decimal("5"),
            "spike_min_count": None,
            "spike_evidence": None,
            "escalate_after": 0,
        },
        "current": {
            "threshold": Decimal("10000"),
            "spike_multiplier": "5",
            "spike_min_count": 20,
            "spike_evidence": Decimal(1_000_000),
            "escalate_after": 0,
        },
        "managers": [{"manager_id": "m-1", "level": 1}],
        "fields": ("threshold", "spike_multiplier", "spike_min_count", "spike_evidence"),
        "candidate": {
            "threshold": HOSTILE,
            "spike_multiplier": "5",
            "spike_min_count": "20",
            "spike_evidence": HOSTILE,
            "escalate_after": "0",
            "from": "a",
            "to": "b",
        },
        "notice": None,
        "error": HOSTILE,
        "preview": [],
        "preview_live": 0,
        "preview_candidate": 0,
        "preview_labels": HOSTILE,
    },
    "pools.html": {
        "pools": [
            {
                "pool_id": "p/1",
                "name": HOSTILE,
                "currency": "USD",
                "target_size": Decimal(1),
                "status": "open",
                "committed": Decimal(0),
                "called": Decimal(0),
                "contributed": Decimal(0),
                "distributed": Decimal(0),
            }
        ],
        "error": None,
        "form": {"name": "", "currency": "", "target_size": "", "hard_cap": "", "manager_id": ""},
        "idempotency_key": "k",
    },
    "pool.html": {
        "pool": {
            "id": "p-1",
            "name": HOSTILE,
            "status": "open",
            "currency": "USD",
            "target_size": "1.00",
            "hard_cap": "2.00",
            "committed": "0.00",
            "called": "0.00",
            "contributed": "0.00",
            "distributed": "0.00",
        },
        "positions": [
            {
                "investor_id": HOSTILE,
                "committed": "1.00",
                "called": "0.00",
                "contributed": "0.00",
                "unfunded": "1.00",
                "distributed": "0.00",
            }
        ],
        "error": None,
        "notice": "Recorded.",
        "keys": {
            k: "k"
            for k in (
                "commitments",
                "capital-calls",
                "contributions",
                "distributions",
                "close",
                "open",
            )
        },
        "calls": [
            {"call_id": "c-1", "amount": Decimal(1), "due_date": "2026-01-01", "paid": Decimal(0)}
        ],
        "ledger": [
            {
                "seq": 1,
                "type": "commitment",
                "recorded_at": None,
                "account": HOSTILE,
                "amount": Decimal("1.00"),
                "balance": Decimal("1.00"),
            }
        ],
    },
    "me.html": {
        "positions": [],
        "calls": [],
        "due": Decimal(0),
        "distributions": [],
        "received": Decimal(0),
    },
    "ops.html": {
        "lags": [(("transactions", 0), 3)],
        "worker": {"id": "w", "messages_s": 1.5, "partitions": ["transactions:0"]},
        "can_replay": True,
        "notice": None,
        "dead_letters": [
            {
                "topic": "transactions-dlq",
                "reason": HOSTILE,
                "n": 2,
                "last_at": None,
                "last_detail": HOSTILE,
            }
        ],
        "notifications": [{"channel": "sms", "status": "sent", "n": 1}],
        "activity": {"latency_p50": 0.1, "latency_p99": 0.2, "alerts_last_hour": 3},
    },
    "admin.html": {
        "users": [
            {
                "username": "ann",
                "role": "fund_manager",
                "manager_id": "m-1",
                "investor_id": None,
                "created_at": None,
                "disabled_at": None,
            }
        ],
        "top_investors": [
            {"investor_id": HOSTILE, "syndicate_count": 3, "total_invested": Decimal("10.50")}
        ],
        "managers": [
            {
                "id": "m-1",
                "name": HOSTILE,
                "channels": ["sms"],
                "syndicates": ["s"],
                "levels": {"s": 1},
            }
        ],
        "top_query": "SELECT 1",
    },
}


@pytest.mark.parametrize("template", sorted(PAGES))
def test_every_page_renders_escapes_and_sends_the_console_headers(template: str):
    response = render.html(
        template, principal=ANN, csrf_token="tok", code=200, active="/x", **PAGES[template]
    )
    text = response.text
    assert HOSTILE not in text
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Frame-Options"] == "DENY"
    if template != "login.html":
        assert 'name="csrf_token" value="tok"' in text  # the sign-out form, at least
    # Every control has a label: inputs that are not hidden are named by a <label for>.
    for control in re.findall(r"<(?:input|select)\b[^>]*>", text):
        if 'type="hidden"' in control:
            continue
        found = re.search(r'id="([^"]+)"', control)
        assert found, control
        assert f'for="{found[1]}"' in text, control


def test_an_alert_row_says_why_in_words_and_has_the_buttons_its_status_allows():
    open_row = render.fragment(
        "_alert_row.html", alert=alert(status="open"), csrf_token="t", back="/console/alerts"
    )
    assert "42 transactions in 5 min, 21.0\u00d7 the hourly average of 2.0 per 5 min" in open_row
    assert ">Acknowledge</button>" in open_row
    assert ">Resolve</button>" in open_row
    acked = render.fragment("_alert_row.html", alert=alert(), csrf_token="t", back="/")
    assert ">Acknowledge</button>" not in acked
    assert ">Resolve</button>" in acked
    resolved = render.fragment(
        "_alert_row.html", alert=alert(status="resolved"), csrf_token="t", back="/"
    )
    assert "<button" not in resolved
    large = render.fragment(
        "_alert_row.html",
        alert=alert(
            kind="large_transaction",
            observed=Decimal("25000.00"),
            expected=Decimal("10000.00"),
            details={"currency": "EUR"},
        ),
        csrf_token="t",
        back="/",
    )
    assert "transaction of 25,000.00 EUR" in large
    assert "above the threshold of 10,000.00" in large


def test_each_role_sees_only_its_pages_in_the_navigation():
    assert [h for h, _ in render.nav(ANN)] == ["/console/alerts", "/console/pools"]
    assert [h for h, _ in render.nav(Principal("i", Role.INVESTOR, investor_id="i"))] == [
        "/console/me"
    ]
    assert [h for h, _ in render.nav(Principal("o", Role.OPS))] == ["/console/ops"]
    assert [h for h, _ in render.nav(Principal("r", Role.ADMIN))] == [
        "/console/alerts",
        "/console/pools",
        "/console/ops",
        "/console/admin",
    ]

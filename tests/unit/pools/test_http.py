"""The pools API's JSON and statuses, chosen at the web edge from the domain's types."""

from decimal import Decimal

from models.pools import (
    CallCapital,
    Commit,
    CreatePool,
    PoolNotFound,
    RuleViolation,
    apply,
    decide,
)
from pipeline.pools import http

D = Decimal


def test_each_refusal_has_its_status():
    assert http.refused(PoolNotFound("pool p9 not found")) == (404, {"error": "pool p9 not found"})
    assert http.refused(RuleViolation("over the cap"))[0] == 409


def test_a_pool_reads_the_same_from_its_state_and_from_its_projection_row():
    pool = apply(None, decide(None, CreatePool("p1", "Fund", "USD", D(100), D(200), "m1")), "p1")
    row = {
        "pool_id": "p1",
        "name": "Fund",
        "currency": "USD",
        "target_size": D("100.00"),
        "hard_cap": D("200.00"),
        "manager_ids": ["m1"],
        "status": "open",
        "committed": D("0.00"),
        "called": D("0.00"),
        "contributed": D("0.00"),
        "distributed": D("0.00"),
        "seq": 1,
    }
    assert http.pool_state_json(pool) == http.pool_json(**row)
    assert http.pool_json(**row)["target_size"] == "100.00"


def test_a_commitment_answers_with_the_event_the_pool_and_the_position():
    pool = apply(None, decide(None, CreatePool("p1", "Fund", "USD", D(100), D(200), "m1")), "p1")
    command = Commit("p1", "inv-1", D("40.00"))
    event = decide(pool, command)
    pool = apply(pool, event, "p1")
    status, body = http.answer(command, pool, event)
    assert status == 201
    assert body["event"] == {
        "type": "commitment_made",
        "sequence": 2,
        "investor_id": "inv-1",
        "amount": "40.00",
    }
    assert body["position"]["unfunded"] == "40.00"
    assert body["pool"]["committed"] == "40.00"
    assert body["amount"] == "40.00"


def test_a_call_by_percent_keeps_its_percent_and_one_by_amount_has_none():
    pool = apply(None, decide(None, CreatePool("p1", "Fund", "USD", D(100), D(200), "m1")), "p1")
    pool = apply(pool, decide(pool, Commit("p1", "a", D("100.00"))), "p1")
    by_percent = decide(pool, CallCapital("p1", "c1", "2026-12-31", percent=D("12.5")))
    by_amount = decide(pool, CallCapital("p1", "c2", "2026-12-31", amount=D("10.00")))
    assert (
        http.answer(CallCapital("p1", "c1", "2026-12-31"), pool, by_percent)[1]["percent"] == "12.5"
    )
    assert "percent" not in http.answer(CallCapital("p1", "c2", "2026-12-31"), pool, by_amount)[1]

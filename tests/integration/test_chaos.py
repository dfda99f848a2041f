"""The short version of `make chaos`: faults injected into a real run, the result compared with the oracle."""

import pytest

from bench import chaos

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def test_repeated_sigkills_change_nothing():
    outcome = chaos.kills(n_kills=2, syndicates=30, hours=6.0, seed=4)
    assert outcome.faults >= 1
    assert outcome.differences == 0, outcome.detail


def test_a_postgres_restart_mid_run_changes_nothing():
    outcome = chaos.postgres_restart(syndicates=15, hours=2.0, seed=5)
    assert outcome.differences == 0, outcome.detail


def test_fuzzed_and_hostile_messages_on_every_topic_dead_lettered_and_totals_exact():
    outcome = chaos.fuzz(count=1000, syndicates=10, hours=2.0, seed=6)
    assert outcome.differences == 0, outcome.detail


def test_providers_failing_then_recovering_deliver_everything_once():
    outcome = chaos.providers_outage(alerts=8, outage_seconds=10.0, seed=9)
    assert outcome.faults > 0
    assert outcome.differences == 0, outcome.detail


def test_kills_during_a_burst_of_pool_commands_reconcile_clean():
    outcome = chaos.pool_kills(commands=1200, n_kills=2, seed=10)
    assert outcome.faults >= 1
    assert outcome.differences == 0, outcome.detail


def test_an_app_crash_with_a_batch_blocked_in_postgres_loses_and_doubles_nothing():
    outcome = chaos.crash_shutdown(transactions=3000, seed=12)
    assert outcome.differences == 0, outcome.detail

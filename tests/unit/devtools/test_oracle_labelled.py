"""The live rule (replayed) is the independent oracle on a labelled stream with every kind of
syndicate: office hours that open from silence, new ones, bursts of 2 to 10 minutes."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from models.anomaly import AlertKind, SyndicateRules
from models.backtest import replay
from pipeline.devtools import oracle
from pipeline.devtools.labelled import StreamSpec, generate

RULES = SyndicateRules(threshold=Decimal("1e12"), spike_multiplier=Decimal(10), spike_min_count=5)


def test_the_replayed_rule_is_the_oracle_on_a_varied_labelled_stream():
    spec = replace(StreamSpec.varied(seed=43), syndicates=24, days=2.5, bursts=14, bumps=8, ramps=3)
    stream = generate(spec)
    records = stream.records()
    raised = replay(
        stream.transactions,
        lambda _: RULES,
        120 * 1_000_000,
        spec.start,
        spec.start + timedelta(days=spec.days + 1),
    )
    spikes = [a for a in raised if a.kind is AlertKind.SPIKE]
    expected = {
        (s, t)
        for kind, s, t in oracle.expected_alerts_fast(records, RULES.threshold)
        if kind == "spike"
    }
    assert {(a.syndicate_id, a.transaction_id) for a in spikes} == expected
    # The stream reaches every way of knowing the usual rate, the opening's included.
    assert {a.details["known_by"] for a in spikes} >= {"last hour", "this hour on previous days"}

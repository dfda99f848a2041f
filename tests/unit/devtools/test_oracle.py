"""The two spike oracles agree (the fast one is used by the chaos runs)."""

from pipeline.devtools import oracle
from tests.integration.test_anomalies import planted_stream


def test_fast_and_brute_force_oracles_agree_on_planted_data():
    stream = planted_stream(seed=11)
    assert oracle.expected_alerts_fast(stream) == oracle.expected_alerts(stream)
    assert any(kind == "spike" for kind, _, _ in oracle.expected_alerts(stream))

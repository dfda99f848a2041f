"""The dashboard's and the rules' expressions name the series they read (the names the integration
test holds to a running worker's /metrics)."""

from pipeline.devtools.observability import expressions, metric_names, missing


def test_names_are_read_past_functions_labels_and_groupings():
    expr = 'histogram_quantile(0.99, sum by (le, kind) (rate(a_seconds_bucket{kind="spike"}[5m])))'
    assert metric_names(expr) == {"a_seconds_bucket"}
    assert metric_names('up{job="pulse"} == 0 or b_assigned == 0') == {"up", "b_assigned"}
    assert metric_names("sum(rate(c_sum[5m])) / sum(rate(c_count[5m]))") == {"c_sum", "c_count"}


def test_every_expression_reads_something_and_a_missing_series_is_named():
    assert expressions()
    assert all(metric_names(e) for e in expressions())
    gaps = missing({"pulse_messages"})
    assert any("pulse_alert_latency_seconds_bucket" in names for names in gaps.values())
    assert not any("pulse_messages_total" in names for names in gaps.values())

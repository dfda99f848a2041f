-- Which of these alerts stand already: a replayed attempt re-detects its alerts.
SELECT alert_id FROM alerts WHERE alert_id = ANY(%(alert_ids)s)

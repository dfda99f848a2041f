-- Alerts stored as published that the topic does not have: the relay publishes them again
-- (consumers dedupe by alert id).
UPDATE alerts SET published_at = NULL
WHERE alert_id = ANY(%(alert_ids)s) AND published_at IS NOT NULL

UPDATE alerts SET published_at = clock_timestamp() WHERE alert_id = ANY(%(alert_ids)s) AND published_at IS NULL

UPDATE alerts SET published_at = clock_timestamp() WHERE alert_id = ANY(%s) AND published_at IS NULL

SELECT DISTINCT pool_id FROM pool_events

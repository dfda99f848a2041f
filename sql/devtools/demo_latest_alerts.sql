SELECT kind, syndicate_id, observed, expected, to_char(event_time, 'HH24:MI:SS') AS at
FROM alerts ORDER BY detected_at DESC LIMIT 6

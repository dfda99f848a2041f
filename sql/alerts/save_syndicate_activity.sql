INSERT INTO syndicate_activity (syndicate_id, first_event_at, spike_open, alerted_count)
SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::boolean[], %s::integer[])
ON CONFLICT (syndicate_id) DO UPDATE SET
    first_event_at = excluded.first_event_at,
    spike_open = excluded.spike_open,
    alerted_count = excluded.alerted_count

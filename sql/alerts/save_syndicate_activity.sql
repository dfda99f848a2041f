INSERT INTO syndicate_activity (syndicate_id, first_event_at, spike_open, alerted_count)
SELECT * FROM unnest(%(syndicate_ids)s::text[], %(first_events)s::timestamptz[],
              %(spikes_open)s::boolean[], %(alerted_counts)s::integer[])
ON CONFLICT (syndicate_id) DO UPDATE SET
    first_event_at = excluded.first_event_at,
    spike_open = excluded.spike_open,
    alerted_count = excluded.alerted_count

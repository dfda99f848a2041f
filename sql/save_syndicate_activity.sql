INSERT INTO syndicate_activity
    (syndicate_id, source_partition, first_event_at, spike_open, alerted_count, watermark)
SELECT * FROM unnest(%s::text[], %s::integer[], %s::timestamptz[], %s::boolean[], %s::integer[],
                     %s::timestamptz[])
ON CONFLICT (syndicate_id) DO UPDATE SET
    source_partition = excluded.source_partition,
    first_event_at = excluded.first_event_at,
    spike_open = excluded.spike_open,
    alerted_count = excluded.alerted_count,
    watermark = excluded.watermark

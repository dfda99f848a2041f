DELETE FROM pool_events_unpublished
WHERE (pool_id, seq) IN (SELECT * FROM unnest(%s::text[], %s::integer[]))

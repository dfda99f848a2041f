DELETE FROM pool_events_unpublished
WHERE (pool_id, seq) IN (SELECT * FROM unnest(%(pool_ids)s::text[], %(seqs)s::integer[]))

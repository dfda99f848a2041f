-- Events stored but not yet on topic pool-events, in each pool's order.
SELECT e.pool_id, e.seq, e.type, e.idempotency_key, e.payload
FROM pool_events_unpublished u
JOIN pool_events e USING (pool_id, seq)
ORDER BY e.pool_id, e.seq
LIMIT %(limit)s
